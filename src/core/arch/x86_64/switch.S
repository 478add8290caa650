/* SPDX-License-Identifier: MIT */
/* Context switch for x86-64, System V ABI.
 *
 * corio__ctx_switch(void **from, void *to) pushes the callee-saved
 * registers and the floating-point control words on the current stack,
 * stores the stack pointer in *from, loads `to` as the stack pointer and
 * pops the same frame from it. A parked context's stack looks like this
 * (addresses grow upwards; the context points at the lowest slot):
 *
 *   ctx + 0   MXCSR (low 4 bytes) | x87 control word (next 2 bytes)
 *   ctx + 8   r15
 *   ctx + 16  r14
 *   ctx + 24  r13
 *   ctx + 32  r12        new context: arg
 *   ctx + 40  rbx        new context: entry
 *   ctx + 48  rbp        new context: 0 (ends gdb's frame chain)
 *   ctx + 56  return address (new context: corio__ctx_trampoline)
 *
 * Caller-saved registers need no saving: the switch is an ordinary call.
 * The CFI describes the frame both before and after the stack changes
 * (the layout is the same on both sides), so gdb and perf can unwind
 * through a switch in progress; tools/corio-gdb.py reads parked contexts
 * with the table above. */

    .text
    .globl corio__ctx_switch
    .hidden corio__ctx_switch
    .type corio__ctx_switch, @function
    .p2align 4
corio__ctx_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw 4(%rsp)

    movq %rsp, (%rdi)
    movq %rsi, %rsp

    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r15
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    ret
    .cfi_endproc
    .size corio__ctx_switch, .-corio__ctx_switch

/* First code a new context runs: call entry(arg) from rbx and r12. The
 * return address is marked undefined so unwinders stop here: this is the
 * outermost frame of a task. entry never returns. */
    .globl corio__ctx_trampoline
    .hidden corio__ctx_trampoline
    .type corio__ctx_trampoline, @function
    .p2align 4
corio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined %rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    callq *%rbx
    ud2
    .cfi_endproc
    .size corio__ctx_trampoline, .-corio__ctx_trampoline

    .section .note.GNU-stack,"",@progbits
