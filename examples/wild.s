li a0, 0x10000
sw a0, 0(a0)
