# SPDX-License-Identifier: MIT
# gdb commands for corio programs, live or from a core dump:
#
#   source tools/corio-gdb.py
#   corio tasks            every loop's tasks: id, name, state, what each
#                          waits on, where it was spawned, its parent
#   corio bt ID            the backtrace of task ID, suspended or running
#   corio switch ID        make task ID's frames the thread's (frame N,
#                          info locals ... work on them) until
#   corio switch off
#
# A suspended task's registers are in the frame its context switch pushed
# (see the table at the top of src/core/arch/<cpu>/switch.S). gdb cannot
# set registers in a core file, so instead of switching registers, an
# unwinder makes the thread's innermost frame unwind into the task's
# parked frame: frame #1 onwards are then the task's, unwound by the
# ordinary CFI, and the same works live and in a core dump.
import gdb
import gdb.unwinder

STATES = {1: "new", 2: "ready", 3: "running", 4: "suspended", 5: "done"}
WAITS = ["", "sleep", "join", "tasks", "future", "lock", "event",
         "condition", "semaphore", "barrier", "queue", "channel", "group",
         "read", "write", "other", "cleanup"]


def _field_offset(typ, name):
    for f in typ.fields():
        if f.name == name:
            return f.bitpos // 8
    raise gdb.GdbError("corio: no field %s in %s" % (name, typ))


def _container(ptr, typ, field):
    char = gdb.lookup_type("char").pointer()
    return (ptr.cast(char) - _field_offset(typ, field)).cast(typ.pointer())


def _walk(head, typ, field):
    """Yield the structures of type typ linked through field on the
    struct corio__list at head."""
    node = head["next"]
    while node != head.address:
        yield _container(node, typ, field)
        node = node["next"]


def loops():
    try:
        head = gdb.parse_and_eval("corio__all_loops")
    except gdb.error:
        raise gdb.GdbError("corio: no corio__all_loops here (is this a "
                           "corio program with debug info?)")
    return list(_walk(head, gdb.lookup_type("struct corio_loop"),
                      "all_loops"))


def tasks(loop):
    return list(_walk(loop["tasks"], gdb.lookup_type("struct corio_task"),
                      "all"))


def find_task(tid):
    for lp in loops():
        for t in tasks(lp):
            if int(t["id"]) == tid:
                return lp, t
    raise gdb.GdbError("corio: no task %d" % tid)


def _name(t):
    n = t["name"]
    return n.string() if int(n) else "Task-%d" % int(t["id"])


def _switch_kind():
    try:
        return gdb.parse_and_eval("(const char *)corio__ctx_name").string()
    except gdb.error:
        return "x86_64"


def _arch():
    return gdb.selected_frame().architecture().name()


def parked_registers(t):
    """The registers of a suspended task at its context switch: a dict of
    register name to value (the caller's frame of the switch)."""
    ctx = int(t["ctx"])
    if not ctx:
        raise gdb.GdbError("corio: task %d has no saved context" %
                           int(t["id"]))
    u64 = gdb.lookup_type("unsigned long").pointer()

    def word(off):
        return int(gdb.Value(ctx + off).cast(u64).dereference())

    kind = _switch_kind()
    if kind == "x86_64":
        return {"rip": word(56), "rsp": ctx + 64, "rbp": word(48),
                "rbx": word(40), "r12": word(32), "r13": word(24),
                "r14": word(16), "r15": word(8)}
    if kind == "aarch64":
        regs = {"pc": word(88), "sp": ctx + 176, "x29": word(80),
                "x30": word(88)}
        for i in range(10):
            regs["x%d" % (19 + i)] = word(8 * i)
        return regs
    if kind == "ucontext" and "x86-64" in _arch():
        # glibc's ucontext_t: uc_mcontext.gregs, REG_RBP 10, REG_RSP 15,
        # REG_RIP 16, REG_RBX 11, REG_R12..R15 4..7.
        uc = gdb.Value(ctx).cast(gdb.lookup_type("ucontext_t").pointer())
        g = uc["uc_mcontext"]["gregs"]
        return {"rip": int(g[16]), "rsp": int(g[15]), "rbp": int(g[10]),
                "rbx": int(g[11]), "r12": int(g[4]), "r13": int(g[5]),
                "r14": int(g[6]), "r15": int(g[7])}
    raise gdb.GdbError("corio: cannot read a %s context on %s" %
                       (kind, _arch()))


class _FrameId:
    """A frame id for create_unwind_info (gdb 13 takes any object with sp
    and pc; gdb.unwinder.FrameId came later)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class TaskUnwinder(gdb.unwinder.Unwinder):
    """While a task is selected, the innermost frame of the thread unwinds
    into that task's parked frame."""

    def __init__(self):
        super().__init__("corio-task")
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        pc = pending.read_register("rip" if "rip" in self.regs else "pc")
        # gdb stops a backtrace whose frames do not move outwards on the
        # stack, so frame #0 must look inner to the task's frames: give it
        # an id just below the task's stack pointer.
        sp = self.regs["rsp" if "rsp" in self.regs else "sp"] - 16
        info = pending.create_unwind_info(_FrameId(gdb.Value(sp), pc))
        for reg, val in self.regs.items():
            info.add_saved_register(reg, gdb.Value(val))
        return info


_unwinder = TaskUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _select(regs):
    _unwinder.regs = regs
    gdb.invalidate_cached_frames()


class Corio(gdb.Command):
    """corio tasks | corio bt ID | corio switch ID | corio switch off"""

    def __init__(self):
        super().__init__("corio", gdb.COMMAND_STACK, gdb.COMPLETE_NONE,
                         True)


class CorioTasks(gdb.Command):
    """List every loop and its tasks."""

    def __init__(self):
        super().__init__("corio tasks", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        for lp in loops():
            cur = lp["current"]
            print("loop %s: %d tasks%s" % (
                lp, int(lp["ntasks"]),
                ", running task %d" % int(cur["id"]) if int(cur) else ""))
            for t in tasks(lp):
                state = STATES.get(int(t["state"]), "?")
                line = "  task %d \"%s\" %s" % (int(t["id"]), _name(t),
                                                 state)
                kind = int(t["wait_kind"])
                if state == "suspended" and 0 < kind < len(WAITS):
                    what = WAITS[kind]
                    if what in ("read", "write"):
                        io = t["wait_obj"].cast(gdb.lookup_type(
                            "struct corio__io").pointer())
                        what += " fd %d" % int(io["fd"])
                    elif what == "join":
                        jt = t["wait_obj"].cast(gdb.lookup_type(
                            "struct corio_task").pointer())
                        what += " task %d" % int(jt["id"])
                    line += " on " + what
                f = t["site_file"]
                if int(f):
                    line += ", spawned at %s:%d" % (f.string(),
                                                   int(t["site_line"]))
                if int(t["parent_id"]):
                    line += " by task %d" % int(t["parent_id"])
                print(line)


class CorioBt(gdb.Command):
    """Backtrace of a task: corio bt ID [bt options]."""

    def __init__(self):
        super().__init__("corio bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: corio bt ID")
        lp, t = find_task(int(argv[0]))
        state = STATES.get(int(t["state"]), "?")
        print("task %d \"%s\" %s" % (int(t["id"]), _name(t), state))
        if state == "running":
            gdb.execute("bt " + " ".join(argv[1:]))
            return
        if state in ("new", "done"):
            print("  (no stack: the task %s)" % (
                "has not run yet" if state == "new" else "has ended"))
            return
        _select(parked_registers(t))
        try:
            # Frame #0 is the thread's own; the task's frames follow.
            out = gdb.execute("bt " + " ".join(argv[1:]), to_string=True)
            lines = out.splitlines()
            print("\n".join(l for l in lines if not l.startswith("#0 ")))
        finally:
            _select(None)


class CorioSwitch(gdb.Command):
    """Make a task's frames the current thread's: corio switch ID; then
    frame 1 is the task's innermost. corio switch off goes back."""

    def __init__(self):
        super().__init__("corio switch", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if arg.strip() == "off":
            _select(None)
            return
        lp, t = find_task(int(arg))
        _select(parked_registers(t))
        print("task %d \"%s\": frame 1 and up are its frames; "
              "'corio switch off' to go back" % (int(t["id"]), _name(t)))


Corio()
CorioTasks()
CorioBt()
CorioSwitch()
