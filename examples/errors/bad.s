_start:
    addi a0, a0, 5000
