// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox_policy.c - see sandbox_policy.h.  ember's built-in seccomp policy:
 * one list per thread class, each allowed call with who needs it and why.
 * `ember --print-seccomp-policy` prints exactly these lists (the printer and
 * the compiler in vmm/core/sandbox.c walk the same data); docs/seccomp.md
 * explains them.
 *
 * Calls are matched on their arguments where that narrows what a
 * compromised thread could do: ioctl request numbers, socket domains and
 * types, no PROT_EXEC in mmap/mprotect, openat flags, io_uring_register
 * opcodes, madvise advice.  Everything else ends the process
 * (SECCOMP_RET_KILL_PROCESS).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>

#include "sandbox_policy.h"

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define ALLOW(name, why) { .syscall = name, .comment = why }
#define ALLOW1(name, a, why) { .syscall = name, .nargs = 1, .args = { a }, .comment = why }
#define ALLOW2(name, a, b, why) { .syscall = name, .nargs = 2, .args = { a, b }, .comment = why }
/* Conditions on an argument: a 32-bit one (dword) or a 64-bit one (qword). */
#define EQ(i, v, why)          { .index = i, .op = SANDBOX_EQ, .val = v, .comment = why }
#define MASKED(i, m, v, why)   { .index = i, .op = SANDBOX_MASKED_EQ, .mask = m, .val = v, \
				 .comment = why }
#define IOCTL(req, why)        ALLOW1("ioctl", EQ(1, req, #req), why)
#define NO_EXEC(i)             MASKED(i, PROT_EXEC, 0, "never PROT_EXEC")
/* The type of a socket without SOCK_NONBLOCK and SOCK_CLOEXEC. */
#define SOCK_TYPE(t)           MASKED(1, ~(unsigned int)(SOCK_NONBLOCK | SOCK_CLOEXEC), t, #t)

/* ---- the vmm thread, once the microVM runs -------------------------------------- */

static const struct sandbox_rule vmm_rules[] = {
	ALLOW("read", "eventfds (queue notifications, completions, kicks), signalfd, timerfds, stdin"),
	ALLOW("write", "log lines, serial output, metrics, eventfd kicks"),
	ALLOW1("sendto", MASKED(3, ~(unsigned int)(MSG_DONTWAIT | MSG_NOSIGNAL), 0,
				 "flags: MSG_DONTWAIT, MSG_NOSIGNAL only"),
	       "non-blocking console/log output when it is a socket"),
	ALLOW("close", "vsock connections ended, a drive's old image after PATCH, teardown"),
	ALLOW("epoll_wait", "the event loop"),
	ALLOW("epoll_ctl", "the event loop: sources added and removed as devices run"),
	ALLOW("io_uring_enter", "block, net and vsock I/O: submit and reap"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_FILES_UPDATE, "FILES_UPDATE"),
	       "vsock connections and PATCHed drive images enter a ring's fixed files"),
	ALLOW2("openat", EQ(2, O_RDONLY | O_CLOEXEC, "O_RDONLY|O_CLOEXEC"), EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"),
	       "PATCH /drives: a read-only drive's new image"),
	ALLOW2("openat", EQ(2, O_RDWR | O_CLOEXEC, "O_RDWR|O_CLOEXEC"), EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"),
	       "PATCH /drives: a writable drive's new image"),
	ALLOW2("openat", EQ(2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"),
	       EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"), "PUT /snapshot/create: the state and memory files"),
	ALLOW("pwrite64", "PUT /snapshot/create: guest RAM and the state into their files"),
	ALLOW("ftruncate", "PUT /snapshot/create Diff: the memory file as long as RAM, holes "
	      "where no page was written"),
	IOCTL(KVM_GET_DIRTY_LOG, "PUT /snapshot/create: the pages the guest dirtied (Diff; "
	      "a Full clears them)"),
	IOCTL(KVM_GET_MSR_INDEX_LIST, "PUT /snapshot/create: the MSRs to save (read once)"),
	IOCTL(KVM_GET_MP_STATE, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_REGS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_SREGS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_XSAVE, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_XCRS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_DEBUGREGS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_LAPIC, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_MSRS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_VCPU_EVENTS, "PUT /snapshot/create: a paused vCPU's state"),
	IOCTL(KVM_GET_CPUID2, "PUT /snapshot/create: a vCPU's CPUID (smt, CPU template)"),
	IOCTL(KVM_GET_TSC_KHZ, "PUT /snapshot/create: the TSC rate (and /snapshot/load compares)"),
	IOCTL(KVM_GET_IRQCHIP, "PUT /snapshot/create: PIC and IOAPIC state"),
	IOCTL(KVM_GET_PIT2, "PUT /snapshot/create: PIT state"),
	IOCTL(KVM_GET_CLOCK, "PUT /snapshot/create: the kvmclock"),
	ALLOW("access", "PATCH /drives: the new image's permissions are checked"),
	ALLOW("newfstatat", "PATCH /drives: the new image's size; fstat of its fd; PUT /boot-source: regular files"),
	ALLOW("fstat", "fstat of a new image (older glibc)"),
	ALLOW1("ioctl", EQ(1, BLKGETSIZE64, "BLKGETSIZE64"), "PATCH /drives: a block device's size"),
	ALLOW("fallocate", "block DISCARD/WRITE_ZEROES (Sync engine), hole-punch probe of a new image"),
	ALLOW("preadv", "block reads (Sync engine)"),
	ALLOW("pwritev", "block writes (Sync engine)"),
	ALLOW("fdatasync", "block FLUSH (Sync engine)"),
	ALLOW2("socket", EQ(0, AF_UNIX, "AF_UNIX"), SOCK_TYPE(SOCK_STREAM),
	       "vsock: a guest connects to <uds_path>_<port> (connected through io_uring); "
	       "PUT /snapshot/load with \"Uffd\": the page-fault handler's socket (vmm_boot)"),
	IOCTL(UFFDIO_UNREGISTER, "teardown of a \"Uffd\" snapshot load: a vCPU waiting for a "
	      "page the handler never served wakes up and stops"),
	IOCTL(TUNSETOFFLOAD, "net: offloads the guest negotiated, at DRIVER_OK"),
	IOCTL(TCGETS, "terminal restored at exit (tcsetattr reads it back)"),
	IOCTL(TCSETS, "terminal restored at exit"),
	ALLOW("timerfd_settime", "rate limiters, vsock and net timers, metrics period"),
	ALLOW("clock_gettime", "clocks (the vDSO falls back to the call for CPU clocks)"),
	ALLOW("futex", "mutexes with the vCPU and api threads, pthread_join"),
	ALLOW("getpid", "pthread_kill: the vCPU kick"),
	ALLOW("gettid", "pthread_kill: the vCPU kick"),
	ALLOW1("tgkill", EQ(2, SIGUSR1, "SIGUSR1"), "the vCPU kick (pause, stop)"),
	ALLOW("rt_sigprocmask", "pthread_kill masks signals around the kick"),
	ALLOW1("mmap", NO_EXEC(2), "malloc (large blocks, arenas)"),
	ALLOW1("mprotect", NO_EXEC(2), "malloc arenas growing"),
	ALLOW("munmap", "free; io_uring rings, guest RAM and thread stacks at teardown"),
	ALLOW("brk", "malloc"),
	ALLOW1("madvise", EQ(2, MADV_DONTNEED, "MADV_DONTNEED"), "free trims arenas"),
	ALLOW("unlink", "the API socket and vsock uds_path removed at exit"),
	ALLOW1("fcntl", EQ(1, F_SETFL, "F_SETFL"), "the console's file flags put back at exit (conout)"),
	ALLOW1("prctl", EQ(0, PR_GET_NAME, "PR_GET_NAME"), "log lines name their thread"),
	ALLOW("restart_syscall", "a call interrupted by SIGSTOP/SIGCONT resumes"),
	ALLOW("exit_group", "the end"),
};

/* ---- the vmm thread before the microVM runs: on top of the lists above --------
 * It applies pre-boot API requests and builds the machine on InstanceStart,
 * then confines itself with "vmm".  The vCPU threads it starts inherit this
 * filter before adding theirs, so it also holds the "vcpu" list. */

static const struct sandbox_rule boot_rules[] = {
	ALLOW2("openat", EQ(2, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, "O_RDONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC"),
	       EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"), "the kernel and initrd (checked at PUT /boot-source, loaded at InstanceStart); PUT /snapshot/load: the state and memory files"),
	ALLOW("pread64", "InstanceStart: the kernel's headers, and its segments and the initrd "
	      "read straight into guest RAM"),
	ALLOW2("openat", EQ(2, O_RDWR | O_NONBLOCK | O_CLOEXEC, "O_RDWR|O_NONBLOCK|O_CLOEXEC"),
	       EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"),
	       "/dev/net/tun; /dev/userfaultfd where userfaultfd(2) is refused (\"Uffd\" load)"),
	ALLOW2("openat", EQ(2, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC,
			    "O_WRONLY|O_APPEND|O_CREAT|O_NONBLOCK|O_CLOEXEC"),
	       EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"), "PUT /logger, PUT /metrics: their files"),
	ALLOW2("openat", EQ(2, O_RDWR | O_NONBLOCK | O_CREAT | O_NOCTTY | O_CLOEXEC,
			    "O_RDWR|O_NONBLOCK|O_CREAT|O_NOCTTY|O_CLOEXEC"),
	       EQ(0, (uint32_t)AT_FDCWD, "AT_FDCWD"), "PUT /serial: serial_out_path (conout_open_path)"),
	IOCTL(KVM_GET_API_VERSION, "/dev/kvm checked"),
	IOCTL(KVM_CHECK_EXTENSION, "/dev/kvm capabilities"),
	IOCTL(KVM_GET_SUPPORTED_CPUID, "CPUID for the vCPUs"),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE, "the kvm_run mapping"),
	IOCTL(KVM_CREATE_VM, "the VM"),
	IOCTL(KVM_SET_TSS_ADDR, "VM set-up"),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "VM set-up"),
	IOCTL(KVM_CREATE_IRQCHIP, "in-kernel IOAPIC/PIC/LAPIC"),
	IOCTL(KVM_CREATE_PIT2, "in-kernel PIT"),
	IOCTL(KVM_SET_USER_MEMORY_REGION, "guest RAM slots"),
	IOCTL(KVM_IRQFD, "device interrupts through eventfds"),
	IOCTL(KVM_IOEVENTFD, "queue notifications through eventfds"),
	IOCTL(KVM_CREATE_VCPU, "the vCPUs"),
	IOCTL(KVM_SET_CPUID2, "vCPU set-up"),
	IOCTL(KVM_SET_MSRS, "vCPU set-up"),
	IOCTL(KVM_GET_MSRS, "a CPU template's MSRs: the values KVM gives a vCPU"),
	IOCTL(KVM_SET_FPU, "vCPU set-up"),
	IOCTL(KVM_SET_LAPIC, "vCPU set-up"),
	IOCTL(KVM_SET_SREGS, "boot registers"),
	IOCTL(KVM_SET_REGS, "boot registers"),
	IOCTL(KVM_SET_XSAVE, "PUT /snapshot/load: a vCPU's saved state"),
	IOCTL(KVM_SET_XCRS, "PUT /snapshot/load: a vCPU's saved state"),
	IOCTL(KVM_SET_DEBUGREGS, "PUT /snapshot/load: a vCPU's saved state"),
	IOCTL(KVM_SET_MP_STATE, "PUT /snapshot/load: a vCPU's saved state"),
	IOCTL(KVM_SET_VCPU_EVENTS, "PUT /snapshot/load: a vCPU's saved state"),
	IOCTL(KVM_SET_TSC_KHZ, "PUT /snapshot/load: the saved TSC rate, when it differs"),
	IOCTL(KVM_SET_IRQCHIP, "PUT /snapshot/load: PIC and IOAPIC state"),
	IOCTL(KVM_SET_PIT2, "PUT /snapshot/load: PIT state"),
	IOCTL(KVM_SET_CLOCK, "PUT /snapshot/load: the kvmclock goes on from the saved value"),
	ALLOW1("userfaultfd", EQ(0, O_CLOEXEC | O_NONBLOCK, "O_CLOEXEC|O_NONBLOCK"),
	       "PUT /snapshot/load with the \"Uffd\" memory backend: guest RAM's page faults "
	       "go to the handler"),
	IOCTL(USERFAULTFD_IOC_NEW, "\"Uffd\" load: a userfaultfd from /dev/userfaultfd"),
	IOCTL(UFFDIO_API, "\"Uffd\" load: the userfaultfd handshake"),
	IOCTL(UFFDIO_REGISTER, "\"Uffd\" load: guest RAM registered for missing-page faults"),
	ALLOW1("sendmsg", MASKED(2, ~(unsigned int)(MSG_DONTWAIT | MSG_NOSIGNAL), 0,
				 "flags: MSG_DONTWAIT, MSG_NOSIGNAL only"),
	       "\"Uffd\" load: the regions and the userfaultfd (SCM_RIGHTS) to the handler"),
	IOCTL(TUNSETIFF, "net: attach the tap"),
	IOCTL(TUNGETIFF, "net: is it a tap"),
	IOCTL(TUNSETVNETHDRSZ, "net: the 12-byte vnet header"),
	IOCTL(SIOCGIFINDEX, "net: if_nametoindex, the tap exists"),
	IOCTL(SIOCSIFMTU, "net: the tap's MTU (network-interfaces mtu)"),
	ALLOW2("socket", EQ(0, AF_UNIX, "AF_UNIX"), SOCK_TYPE(SOCK_DGRAM),
	       "net: if_nametoindex's and SIOCSIFMTU's query socket"),
	ALLOW("bind", "vsock: the uds_path listener"),
	ALLOW("listen", "vsock: the uds_path listener"),
	ALLOW("umask", "vsock: the uds_path socket file bound 0600 (usock_bind)"),
	ALLOW("connect", "vsock: probing a stale uds_path socket; \"Uffd\" load: the page-fault "
	      "handler's socket"),
	ALLOW1("fcntl", EQ(1, F_GETFL, "F_GETFL"), "net: the tap's flags"),
	ALLOW1("fcntl", EQ(1, F_SETFL, "F_SETFL"), "net: the tap made non-blocking"),
	ALLOW1("prlimit64", EQ(1, RLIMIT_NOFILE, "RLIMIT_NOFILE"), "vsock: room for its connections"),
	ALLOW("io_uring_setup", "block, net and vsock rings (created disabled)"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_FILES, "REGISTER_FILES"), "a ring's files"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_FILES2, "REGISTER_FILES2"), "a ring's sparse file table"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_EVENTFD, "REGISTER_EVENTFD"), "a ring's completion eventfd"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_RESTRICTIONS, "REGISTER_RESTRICTIONS"),
	       "a ring limited to its opcodes"),
	ALLOW1("io_uring_register", EQ(1, IORING_REGISTER_ENABLE_RINGS, "REGISTER_ENABLE_RINGS"),
	       "a ring enabled once restricted"),
	ALLOW("eventfd2", "device, vCPU and exit eventfds"),
	ALLOW("timerfd_create", "device timers"),
	ALLOW1("madvise", EQ(2, MADV_DONTFORK, "MADV_DONTFORK"), "guest RAM"),
	ALLOW1("madvise", EQ(2, MADV_DONTDUMP, "MADV_DONTDUMP"), "guest RAM kept out of core dumps"),
	ALLOW1("madvise", EQ(2, MADV_HUGEPAGE, "MADV_HUGEPAGE"),
	       "guest RAM in transparent huge pages (huge_pages \"Transparent\")"),
	ALLOW("rt_sigaction", "the vCPU kick handler"),
	ALLOW("clone3", "pthread_create: the vCPU threads (its flags are in memory: not checked)"),
	ALLOW1("clone", MASKED(0, CLONE_THREAD, CLONE_THREAD, "CLONE_THREAD"),
	       "pthread_create where clone3 is missing"),
	ALLOW("set_robust_list", "a new vCPU thread starting"),
	ALLOW("rseq", "a new vCPU thread starting"),
	ALLOW1("prctl", EQ(0, PR_SET_NAME, "PR_SET_NAME"), "a new vCPU thread names itself"),
	ALLOW1("seccomp", EQ(0, SECCOMP_SET_MODE_FILTER, "SET_MODE_FILTER"),
	       "the vCPU threads and then this thread confine themselves"),
	ALLOW("getrandom", "glibc's malloc seeds its tcache"),
};

/* ---- each vCPU thread ------------------------------------------------------------ */

static const struct sandbox_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "runs the guest"),
	IOCTL(KVM_GET_REGS, "the register dump after an internal error"),
	IOCTL(KVM_GET_SREGS, "the register dump after an internal error"),
	ALLOW("write", "serial output (THR writes), log lines, eventfd kicks (irqfd, notify, exit)"),
	ALLOW1("sendto", MASKED(3, ~(unsigned int)(MSG_DONTWAIT | MSG_NOSIGNAL), 0,
				 "flags: MSG_DONTWAIT, MSG_NOSIGNAL only"),
	       "non-blocking serial output when stdout is a socket"),
	ALLOW("read", "device register reads that drain an eventfd"),
	ALLOW("io_uring_enter", "a device reset cancels and reaps its ring's I/O"),
	ALLOW("timerfd_settime", "a device reset stops its timers"),
	ALLOW("clock_gettime", "log time stamps, deadlines (CPU clocks are not in the vDSO)"),
	ALLOW1("getrusage", EQ(0, RUSAGE_SELF, "RUSAGE_SELF"), "vcpu 0 logs the CPU time at first entry"),
	ALLOW("futex", "the transport and pause locks"),
	ALLOW("rt_sigreturn", "return from the kick handler (SIGUSR1)"),
	ALLOW("rt_sigprocmask", "glibc masks signals around thread exit"),
	ALLOW1("mmap", NO_EXEC(2), "malloc (register dump, logs)"),
	ALLOW1("mprotect", NO_EXEC(2), "malloc arenas growing"),
	ALLOW("munmap", "free"),
	ALLOW("brk", "malloc"),
	ALLOW1("madvise", EQ(2, MADV_DONTNEED, "MADV_DONTNEED"), "free; the thread's stack at exit"),
	ALLOW1("prctl", EQ(0, PR_GET_NAME, "PR_GET_NAME"), "log lines name their thread"),
	ALLOW("restart_syscall", "a call interrupted by SIGSTOP/SIGCONT resumes"),
	ALLOW("exit", "the thread ends"),
	ALLOW("exit_group", "a fatal error path ends the process"),
};

/* ---- the api thread --------------------------------------------------------------- */

static const struct sandbox_rule api_rules[] = {
	ALLOW("epoll_wait", "its loop: the listener, connections, the stop eventfd"),
	ALLOW("epoll_ctl", "connections added, re-armed"),
	ALLOW("accept4", "API connections"),
	ALLOW("recvfrom", "requests"),
	ALLOW1("sendto", MASKED(3, ~(unsigned int)(MSG_DONTWAIT | MSG_NOSIGNAL), 0,
				 "flags: MSG_DONTWAIT, MSG_NOSIGNAL only"),
	       "responses"),
	ALLOW1("shutdown", EQ(1, SHUT_WR, "SHUT_WR"), "a connection that is done"),
	IOCTL(FIONREAD, "at the connection limit, an idle connection with nothing unread is evicted"),
	ALLOW("close", "connections"),
	ALLOW("write", "log lines, the request eventfd"),
	ALLOW("read", "the stop eventfd"),
	ALLOW("futex", "the hand-off to the vmm thread"),
	ALLOW("clock_gettime", "deadlines, log time stamps"),
	ALLOW1("mmap", NO_EXEC(2), "malloc (connections, request bodies)"),
	ALLOW1("mprotect", NO_EXEC(2), "malloc arenas growing"),
	ALLOW("munmap", "free"),
	ALLOW("brk", "malloc"),
	ALLOW1("madvise", EQ(2, MADV_DONTNEED, "MADV_DONTNEED"), "free; the thread's stack at exit"),
	ALLOW("rt_sigprocmask", "glibc masks signals around thread exit"),
	ALLOW1("prctl", EQ(0, PR_GET_NAME, "PR_GET_NAME"), "log lines name their thread"),
	ALLOW("restart_syscall", "a call interrupted by SIGSTOP/SIGCONT resumes"),
	ALLOW("exit", "the thread ends"),
	ALLOW("exit_group", "a fatal error path ends the process"),
};

#if defined(__SANITIZE_ADDRESS__)
/* ---- sanitizer builds only (build/asan/ember, never build/ember) ---------------
 * ASan's thread start and exit and LeakSanitizer's check at exit, which runs
 * on the exiting thread (the vmm thread): it clones a tracer thread that
 * inherits the filter, lists /proc/self/task and ptrace-attaches to every
 * thread to read their registers and stacks. */
static const struct sandbox_rule sanitizer_rules[] = {
	ALLOW("sigaltstack", "ASan: each thread's signal stack, set up and torn down"),
	ALLOW("madvise", "ASan: shadow memory (MADV_NOHUGEPAGE, MADV_DONTDUMP)"),
	ALLOW("rt_sigaction", "ASan: its fault handlers"),
	ALLOW("clone", "LSan: the tracer thread (CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_UNTRACED)"),
	ALLOW("ptrace", "LSan: the tracer stops every thread and reads its registers"),
	ALLOW("wait4", "LSan: waits for the stopped threads and the tracer"),
	ALLOW("open", "LSan: /proc/self/task, /proc/self/maps"),
	ALLOW("getdents", "LSan: /proc/self/task"),
	ALLOW("getdents64", "LSan: /proc/self/task"),
	ALLOW("lseek", "LSan: rewinds /proc/self/task"),
	ALLOW("sched_yield", "LSan: waits for the tracer"),
	ALLOW("sched_getaffinity", "LSan: thread registry"),
	ALLOW("getppid", "LSan: the tracer checks its parent"),
	ALLOW("prctl", "LSan: PR_SET_PTRACER, PR_GET/SET_DUMPABLE, PR_SET_PDEATHSIG"),
	ALLOW("exit", "LSan: the tracer ends"),
	ALLOW("getpid", "ASan: report lines carry the pid"),
};
#define SANITIZER_PART 1
#else
#define SANITIZER_PART 0
#endif

#define LIST(a) { .rules = a, .n = sizeof(a) / sizeof(a[0]) }

static void filter(struct sandbox_filter *f, const struct sandbox_list *parts, unsigned int n)
{
	f->present = true;
	f->default_action = SANDBOX_KILL_PROCESS;
	f->filter_action = SANDBOX_ALLOW;
	for (unsigned int i = 0; i < n; i++)
		f->parts[f->nparts++] = parts[i];
}

void sandbox_policy_builtin(struct sandbox_policy *p)
{
#if SANITIZER_PART
	const struct sandbox_list san = LIST(sanitizer_rules);
#else
	const struct sandbox_list san = { 0 };
#endif
	const struct sandbox_list vmm = LIST(vmm_rules), boot = LIST(boot_rules);
	const struct sandbox_list vcpu = LIST(vcpu_rules), api = LIST(api_rules);
	const unsigned int s = SANITIZER_PART;

	*p = (struct sandbox_policy){ 0 };
	filter(&p->f[SANDBOX_VMM], (struct sandbox_list[]){ vmm, san }, 1 + s);
	filter(&p->f[SANDBOX_API], (struct sandbox_list[]){ api, san }, 1 + s);
	filter(&p->f[SANDBOX_VCPU], (struct sandbox_list[]){ vcpu, san }, 1 + s);
	filter(&p->f[SANDBOX_VMM_BOOT], (struct sandbox_list[]){ vmm, boot, vcpu, san }, 3 + s);
}
