_start: la a0, _start
sw zero, 0(a0)
