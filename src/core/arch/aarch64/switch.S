/* SPDX-License-Identifier: MIT */
/* Context switch for aarch64, AAPCS64.
 *
 * corio__ctx_switch(void **from, void *to) stores the callee-saved
 * registers x19-x29, the link register, d8-d15 and FPCR in a 176-byte
 * frame on the current stack, stores sp in *from, loads `to` into sp and
 * restores the same frame from it. A parked context (ctx = its sp):
 *
 *   ctx + 0    x19  x20     new context: x19 = entry, x20 = arg
 *   ctx + 16   x21  x22
 *   ctx + 32   x23  x24
 *   ctx + 48   x25  x26
 *   ctx + 64   x27  x28
 *   ctx + 80   x29  x30     new context: x29 = 0, x30 = trampoline
 *   ctx + 96   d8   d9
 *   ctx + 112  d10  d11
 *   ctx + 128  d12  d13
 *   ctx + 144  d14  d15
 *   ctx + 160  FPCR, pad
 *
 * Only the low 64 bits of v8-v15 are callee-saved by the ABI. The CFI
 * holds on both sides of the stack change, since both frames have this
 * layout. */

    .text
    .globl corio__ctx_switch
    .hidden corio__ctx_switch
    .type corio__ctx_switch, %function
    .p2align 4
corio__ctx_switch:
    .cfi_startproc
    sub sp, sp, #176
    .cfi_def_cfa_offset 176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    .cfi_offset x19, -176
    .cfi_offset x20, -168
    .cfi_offset x21, -160
    .cfi_offset x22, -152
    .cfi_offset x23, -144
    .cfi_offset x24, -136
    .cfi_offset x25, -128
    .cfi_offset x26, -120
    .cfi_offset x27, -112
    .cfi_offset x28, -104
    .cfi_offset x29, -96
    .cfi_offset x30, -88
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]

    mov x9, sp
    str x9, [x0]
    mov sp, x1

    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #176
    .cfi_def_cfa_offset 0
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore x29
    .cfi_restore x30
    ret
    .cfi_endproc
    .size corio__ctx_switch, .-corio__ctx_switch

/* First code of a new context: entry(arg) from x19 and x20. The link
 * register is undefined so unwinders stop at the task's outermost frame.
 * entry never returns. */
    .globl corio__ctx_trampoline
    .hidden corio__ctx_trampoline
    .type corio__ctx_trampoline, %function
    .p2align 4
corio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov x29, #0
    mov x0, x20
    blr x19
    brk #0
    .cfi_endproc
    .size corio__ctx_trampoline, .-corio__ctx_trampoline

    .section .note.GNU-stack,"",%progbits
