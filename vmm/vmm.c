// SPDX-License-Identifier: Apache-2.0
/* vmm.c - see vmm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "snapshot.h"
#include "vmm.h"
#include "vmm/core/log.h"
#include "vmm/core/sandbox.h"
#include "vmm/core/stages.h"
#include "vmm/core/term.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/x86/cpu_template.h"

const char *vmm_state_name(enum vmm_state state)
{
	static const char *const names[] = {
		[VMM_NOT_STARTED] = "Not started",
		[VMM_RUNNING] = "Running",
		[VMM_PAUSED] = "Paused",
	};
	return names[state];
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- console: host stdin → guest UART -------------------------------- */

static void vmm_stdin_read(struct vmm *vmm);

static void vmm_stdin_arm(struct vmm *vmm, bool on)
{
	int ret;

	if (on && vmm->stdin_done)
		return;
	if (vmm->stdin_is_file) {  /* epoll cannot watch regular files */
		if (on)
			vmm_stdin_read(vmm);
		return;
	}
	if (on == vmm->stdin_armed)
		return;
	if (!on) {
		if (!ev_del(&vmm->loop, &vmm->stdin_src))
			vmm->stdin_armed = false;
		return;
	}
	ret = ev_add(&vmm->loop, &vmm->stdin_src, EPOLLIN);
	vmm->stdin_armed = !ret;
	if (ret == -EPERM) {
		vmm->stdin_is_file = true;
		vmm_stdin_read(vmm);
	}
}

/* Move host input into the UART FIFO without ever dropping a byte: when the
 * FIFO is full, stop reading until the guest drains it (serial_rx_src). */
static void vmm_stdin_read(struct vmm *vmm)
{
	uint8_t buf[SERIAL_FIFO_SIZE];
	size_t space;
	ssize_t n;

	do {
		space = serial_rx_space(&vmm->m.serial);
		if (!space) {
			vmm_stdin_arm(vmm, false);
			return;
		}
		n = read(STDIN_FILENO, buf, space);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				vmm_stdin_arm(vmm, false);
				vmm->stdin_done = true;
			}
			return;
		}
		serial_input(&vmm->m.serial, buf, (size_t)n);
	} while (vmm->stdin_is_file);
}

static void on_stdin(struct ev_source *src, uint32_t events)
{
	(void)events;
	vmm_stdin_read(src->opaque);
}

static void on_serial_rx(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) > 0)
		vmm_stdin_arm(vmm, true);
}

/* ---- lifecycle events ------------------------------------------------- */

static void on_vm_exit(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;

	(void)events;
	vmm->exit_code = vmm->m.vm.shared.exit_code;
	vmm->done = true;
}

/* The i8042's reset line: the guest asked for a reboot. */
static void on_reset(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) > 0)
		vm_request_exit(&vmm->m.vm, 0, "guest requested a reset (i8042)");
}

/* The ACPI sleep control or reset register: poweroff (S5) or reboot. */
static void on_acpi_pm(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) <= 0)
		return;
	vm_request_exit(&vmm->m.vm, 0, acpi_pm_event(&vmm->m.acpi_pm) == ACPI_PM_POWEROFF
		? "guest powered off (ACPI S5)" : "guest requested a reset (ACPI)");
}

static void on_signal(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (vmm->vm_built) {
		vm_request_exit(&vmm->m.vm, 0, strsignal((int)si.ssi_signo));
	} else {
		log_info("stopping: %s", strsignal((int)si.ssi_signo));
		vmm->done = true;
	}
}

static int vmm_add_source(struct vmm *vmm, struct ev_source *src, int fd, ev_cb cb)
{
	*src = (struct ev_source){ .fd = fd, .cb = cb, .opaque = vmm };
	return ev_add(&vmm->loop, src, EPOLLIN);
}

/* {"exits": N, "exit_io_in": N, ...} */
static json_t *exit_counts_json(uint64_t exits, const uint64_t by_kind[VCPU_EXIT_KINDS])
{
	json_t *o = json_object();

	json_object_set_new(o, "exits", json_integer((json_int_t)exits));
	for (unsigned int k = 0; k < VCPU_EXIT_KINDS; k++)
		json_object_set_new(o, vcpu_exit_kind_name(k), json_integer((json_int_t)by_kind[k]));
	return o;
}

/* The orchestrator's counters: state, vCPUs, console, boot timer, devices. */
static void vmm_metrics(void *opaque, json_t *root)
{
	struct vmm *vmm = opaque;
	struct machine *m = &vmm->m;
	struct serial_stats uart;
	uint64_t exits = 0, by_kind[VCPU_EXIT_KINDS] = { 0 };
	json_t *bt;

	json_object_set_new(root, "state", json_string(vmm_state_name(vmm->state)));
	json_object_set_new(root, "logger", json_pack("{sI}", "missed_log_count",
						      (json_int_t)log_missed_count()));
	json_object_set_new(root, "latencies_us", json_pack("{sI sI sI sI sI}",
		"full_create_snapshot", (json_int_t)vmm->latency.full_create_snapshot,
		"diff_create_snapshot", (json_int_t)vmm->latency.diff_create_snapshot,
		"load_snapshot", (json_int_t)vmm->latency.load_snapshot,
		"pause_vm", (json_int_t)vmm->latency.pause_vm,
		"resume_vm", (json_int_t)vmm->latency.resume_vm));
	if (!vmm->vm_built)
		return;
	vcpu_count_exits(m->vm.vcpus, m->vm.shared.nr_vcpus, &exits, by_kind);
	json_object_set_new(root, "vcpu", exit_counts_json(exits, by_kind));
	json_object_set_new(json_object_get(root, "vcpu"), "count",
			    json_integer((json_int_t)m->vm.shared.nr_vcpus));
	serial_get_stats(&m->serial, &uart);
	json_object_set_new(root, "uart", json_pack("{sI sI sI sI sI sI sI}",
		"write_count", (json_int_t)uart.write_count,
		"missed_write_count", (json_int_t)uart.missed_write_count,
		"flush_count", (json_int_t)uart.flush_count,
		"error_count", (json_int_t)uart.error_count,
		"read_count", (json_int_t)uart.read_count,
		"missed_read_count", (json_int_t)uart.missed_read_count,
		"budget_dropped_count", (json_int_t)uart.budget_dropped));
	/* Firecracker's name for the bytes its serial rate_limiter dropped */
	json_object_set_new(json_object_get(root, "uart"), "rate_limiter_dropped_bytes",
			    json_integer((json_int_t)uart.budget_dropped));
	bt = json_pack("{sI sI}", "boot_time_us", (json_int_t)m->boot_timer.boot_us,
		       "boot_time_cpu_us", (json_int_t)m->boot_timer.boot_cpu_us);
	if (bt && __atomic_load_n(&m->boot_exits_set, __ATOMIC_ACQUIRE))
		json_object_set_new(bt, "exits", exit_counts_json(m->boot_exits,
								  m->boot_exits_by_kind));
	json_object_set_new(root, "boot_timer", bt);
	device_metrics(m->devs, m->nr_devs, root);
}

int vmm_init(struct vmm *vmm, struct vm_config *cfg)
{
	char err[CONFIG_ERR_LEN] = "";
	sigset_t set;
	int sigfd, ret;

	memset(vmm, 0, sizeof(*vmm));
	vmm->serial_out = (struct conout){ .mode = CONOUT_NONE, .fd = -1, .restore_fd = -1 };
	ret = conout_open(&vmm->console, STDOUT_FILENO);
	if (ret)
		log_warn("console output: no private non-blocking stdout (%s): %s", strerror(-ret),
			 vmm->console.fd >= 0 ? "stdout made non-blocking until exit"
					      : "guest console output is discarded");
	/* stderr as stdout: a reader that stops reading must not park the
	 * thread that logs (the API thread, a vCPU).  Without /proc nothing
	 * private can be had and stderr stays as it is. */
	if (!conout_open_private(&vmm->log_err, STDERR_FILENO))
		log_set_stderr_writer(conout_write, &vmm->log_err);
	metrics_init(&vmm->metrics);
	metrics_add_source(&vmm->metrics, vmm_metrics, vmm);
	vmm->cfg = cfg;
	vmm->start_us = time_mono_us();
	vmm->start_cpu_us = time_cpu_us();
	pthread_setname_np(pthread_self(), "vmm");
	ret = ev_init(&vmm->loop);
	if (ret)
		return ret;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return -errno;
	ret = vmm_add_source(vmm, &vmm->signal_src, sigfd, on_signal);
	if (ret)
		return ret;
	if (cfg->serial.out_path) {  /* from the config file */
		ret = conout_open_path(&vmm->serial_out, cfg->serial.out_path);
		if (ret) {
			log_error("serial: cannot open serial_out_path '%s': %s",
				  cfg->serial.out_path, strerror(-ret));
			return ret;
		}
	}
	if (cfg->metrics_path) {  /* from the config file */
		ret = vmm_open_metrics(vmm, cfg->metrics_path, err, sizeof(err));
		if (ret)
			log_error("%s", err);
	}
	return ret;
}

/* What PUT /metrics asked every line to carry: "id", "properties". */
static json_t *metrics_tags(const struct vm_config *cfg)
{
	json_t *tags;

	if (!cfg->metrics_emit_id && !cfg->metrics_properties)
		return NULL;
	tags = json_object();
	if (cfg->metrics_emit_id)
		json_object_set_new(tags, "id", json_string(cfg->id ? cfg->id : "anonymous-instance"));
	if (cfg->metrics_properties)
		json_object_set_new(tags, "properties", json_deep_copy(cfg->metrics_properties));
	return tags;
}

int vmm_put_serial(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	struct serial_cfg old = vmm->cfg->serial;
	struct conout out = { .mode = CONOUT_NONE, .fd = -1, .restore_fd = -1 };
	int ret;

	vmm->cfg->serial.out_path = NULL;  /* kept in `old` until the end */
	ret = config_put_serial(vmm->cfg, body, err, errlen);
	if (ret) {
		vmm->cfg->serial = old;
		return -EINVAL;
	}
	if (vmm->cfg->serial.out_path) {
		ret = conout_open_path(&out, vmm->cfg->serial.out_path);
		if (ret) {
			fail(err, errlen, ret, "serial: cannot open serial_out_path '%s': %s",
			     vmm->cfg->serial.out_path, strerror(-ret));
			free(vmm->cfg->serial.out_path);
			vmm->cfg->serial = old;
			return ret;
		}
	}
	free(old.out_path);
	conout_close(&vmm->serial_out);
	vmm->serial_out = out;
	return 0;
}

int vmm_open_metrics(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	int ret;

	if (metrics_is_open(&vmm->metrics))
		return fail(err, errlen, -EBUSY, "metrics: the metrics system is already initialised");
	ret = metrics_open(&vmm->metrics, &vmm->loop, path, err, errlen);
	if (!ret)
		metrics_set_tags(&vmm->metrics, metrics_tags(vmm->cfg));
	return ret;
}

/* Wire the running VM's fds into the loop. */
static int vmm_watch_vm(struct vmm *vmm)
{
	int ret = vmm_add_source(vmm, &vmm->exit_src, vmm->m.vm.shared.exit_efd, on_vm_exit);

	if (!ret)
		ret = vmm_add_source(vmm, &vmm->reset_src, vmm->m.i8042.reset_efd, on_reset);
	if (!ret)
		ret = vmm_add_source(vmm, &vmm->acpi_src, vmm->m.acpi_pm.event_efd, on_acpi_pm);
	if (!ret)
		ret = vmm_add_source(vmm, &vmm->serial_rx_src, vmm->m.serial.rx_ready_efd,
				     on_serial_rx);
	vmm->stdin_src = (struct ev_source){ .fd = STDIN_FILENO, .cb = on_stdin, .opaque = vmm };
	/* harmless when stdin is closed; with serial_out_path no input, as Firecracker */
	if (!ret && vmm->serial_out.mode == CONOUT_NONE)
		vmm_stdin_arm(vmm, true);
	return ret;
}

int vmm_start(struct vmm *vmm, char *err, size_t errlen)
{
	/* The boot timer measures from here, the start request; without an API
	 * from the process start. */
	uint64_t start_us = vmm->cfg->api_sock ? time_mono_us() : vmm->start_us;
	uint64_t start_cpu_us = vmm->cfg->api_sock ? time_cpu_us() : vmm->start_cpu_us;
	const struct cpu_template *tmpl;
	struct cpu_template *owned;
	char why[VCPU_WHY_LEN];
	int ret;

	if (vmm->state != VMM_NOT_STARTED)
		return fail(err, errlen, -EBUSY, "the microVM is already running");
	ret = config_validate(vmm->cfg, err, errlen);
	if (ret)
		return ret;
	ret = config_cpu_template(vmm->cfg, &tmpl, &owned, why, sizeof(why));
	if (ret)
		return fail(err, errlen, ret, "cannot start the microVM: %s", why);
	if (tmpl)
		log_info("CPU template %s: %u CPUID leaves, %u MSRs, %u KVM capabilities",
			 vmm->cfg->cpu_custom ? "(custom)" : cpu_static_name(vmm->cfg->cpu_static),
			 tmpl->nr_leaves, tmpl->nr_msrs, tmpl->nr_caps);
	ret = machine_build(&vmm->m, vmm->cfg, tmpl, &vmm->loop,
			    vmm->serial_out.mode != CONOUT_NONE ? &vmm->serial_out : &vmm->console,
			    start_us, start_cpu_us);
	/* The vCPUs have their CPUID and MSRs: the template is no longer read. */
	vmm->m.vm.shared.tmpl = NULL;
	cpu_template_free(owned);
	if (!ret)
		ret = vmm_watch_vm(vmm);
	if (ret) {
		snprintf(why, sizeof(why), "%s", vmm->m.vm.shared.why);
		machine_destroy(&vmm->m);
		if (why[0])
			return fail(err, errlen, ret, "cannot start the microVM: %s", why);
		return fail(err, errlen, ret, "cannot start the microVM: %s (see the log)",
			    strerror(-ret));
	}
	if (vmm->serial_out.mode == CONOUT_NONE)
		term_raw(STDIN_FILENO);
	vmm->vm_built = true;
	vmm->state = VMM_RUNNING;
	stage_mark("event sources, terminal");
	/* the last mark of this thread: vCPU 0 marks the rest (stages.h) */
	ret = vm_start_vcpus(&vmm->m.vm);
	if (ret)
		vm_request_exit(&vmm->m.vm, 1, "cannot start the vCPUs");
	/* Started from the loop (InstanceStart): the build calls go now. */
	if (vmm->looping && sandbox_enter(SANDBOX_VMM))
		vm_request_exit(&vmm->m.vm, 1, "cannot confine the vmm thread");
	return 0;
}

int vmm_patch_device(struct vmm *vmm, const char *section, const char *id, json_t *body,
		     char *err, size_t errlen)
{
	const struct device_type *dt = device_type_find(section);
	struct vm_device *d;

	if (!dt || !dt->patch)
		return fail(err, errlen, -EINVAL, "%s: no live update for this device", section);
	d = vmm->vm_built ? machine_find_device(&vmm->m, dt, id) : NULL;
	return dt->patch(vmm->cfg, id, body, d ? d->dev : NULL, err, errlen);
}

int vmm_send_ctrl_alt_del(struct vmm *vmm, char *err, size_t errlen)
{
	if (!vmm->vm_built)
		return fail(err, errlen, -EINVAL, "SendCtrlAltDel: the microVM is not running");
	if (i8042_send_ctrl_alt_del(&vmm->m.i8042))
		return fail(err, errlen, -ENOSPC,
			    "SendCtrlAltDel: the guest has not read the keys sent before");
	return 0;
}

int vmm_pause(struct vmm *vmm, char *err, size_t errlen)
{
	uint64_t t0 = time_mono_us();

	if (vmm->state == VMM_NOT_STARTED)
		return fail(err, errlen, -EINVAL, "the microVM is not running");
	if (vmm->state == VMM_PAUSED)
		return 0;
	if (vm_pause(&vmm->m.vm))
		return fail(err, errlen, -ESHUTDOWN, "the microVM is shutting down");
	vmm->state = VMM_PAUSED;
	vmm->latency.pause_vm = time_mono_us() - t0;
	log_info("microVM paused");
	return 0;
}

int vmm_resume(struct vmm *vmm, char *err, size_t errlen)
{
	uint64_t t0 = time_mono_us();

	if (vmm->state == VMM_NOT_STARTED)
		return fail(err, errlen, -EINVAL, "the microVM is not running");
	if (vmm->state == VMM_RUNNING)
		return 0;
	vm_resume(&vmm->m.vm);
	vmm->state = VMM_RUNNING;
	vmm->latency.resume_vm = time_mono_us() - t0;
	log_info("microVM resumed");
	return 0;
}

/* ---- snapshots -------------------------------------------------------------- */

int vmm_snapshot_create(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	struct snapshot_create_params p;
	uint64_t t0 = time_mono_us();
	int ret;

	if (vmm->state != VMM_PAUSED)
		return fail(err, errlen, -EINVAL, "snapshot/create: the microVM must be paused "
			    "(PATCH /vm {\"state\": \"Paused\"}) first");
	ret = snapshot_create_params(body, &p, err, errlen);
	if (!ret && p.diff && !vmm->m.vm.mem.dirty)
		return fail(err, errlen, -EINVAL, "snapshot/create: a \"Diff\" snapshot needs dirty "
			    "page tracking: set 'track_dirty_pages' in machine-config before the "
			    "start, or in the /snapshot/load that made this microVM");
	if (!ret)
		ret = snapshot_write(&vmm->m, vmm->cfg, &p, err, errlen);
	if (ret)
		return ret;
	t0 = time_mono_us() - t0;
	*(p.diff ? &vmm->latency.diff_create_snapshot : &vmm->latency.full_create_snapshot) = t0;
	log_info("%s snapshot written: %s (memory %s) in %llu us", p.diff ? "Diff" : "Full",
		 p.state_path, p.mem_path, (unsigned long long)t0);
	return 0;
}

/* A load needs a fresh ember: nothing that builds a machine configured. */
static int vmm_fresh(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state != VMM_NOT_STARTED || vmm->vm_built)
		return fail(err, errlen, -EINVAL, "snapshot/load: the microVM has already started "
			    "(a snapshot loads into a fresh ember)");
	if (vmm->cfg->kernel_path)
		return fail(err, errlen, -EINVAL, "snapshot/load: not allowed after the boot source "
			    "is configured (a snapshot loads into a fresh ember)");
	for (size_t k = 0; k < device_table_len; k++)
		if (device_table[k]->count(vmm->cfg))
			return fail(err, errlen, -EINVAL, "snapshot/load: not allowed after %s are "
				    "configured (a snapshot loads into a fresh ember)",
				    device_table[k]->section);
	return 0;
}

int vmm_snapshot_load(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	struct snapshot_load_params p;
	struct snapshot_files f;
	struct restore_mem mem;
	uint64_t t0 = time_mono_us();
	bool was_tracking;
	int ret = vmm_fresh(vmm, err, errlen);

	if (!ret)
		ret = snapshot_load_params(body, &p, err, errlen);
	if (ret)
		return ret;
	ret = snapshot_open(&f, p.state_path, p.mem_path, err, errlen);
	if (!ret)
		ret = snapshot_devices_config(&f.s, &p, vmm->cfg, err, errlen);
	if (ret)
		goto err_files;
	was_tracking = vmm->cfg->track_dirty_pages;
	vmm->cfg->track_dirty_pages = p.track_dirty;
	mem = (struct restore_mem){ .fd = f.mem_fd, .uffd_path = p.uffd_path,
		.pages = p.hugetlb ? GM_PAGES_HUGETLB : GM_PAGES_NORMAL };
	ret = machine_restore(&vmm->m, vmm->cfg, &vmm->loop, &vmm->console, &f.s, &mem,
			      err, errlen);
	if (!ret && vmm_watch_vm(vmm)) {
		ret = -EIO;
		snprintf(err, errlen, "snapshot/load: cannot watch the microVM's events");
	}
	if (ret)
		goto err_machine;
	/* The machine is what the snapshot says it is. */
	vmm->cfg->vcpus = f.s.machine->nr_vcpus;
	vmm->cfg->mem_mib = f.s.mem_size / MiB;
	vmm->cfg->boot_timer = f.s.machine->flags & SNAP_MACHINE_BOOT_TIMER;
	vmm->cfg->smt = f.s.machine->flags & SNAP_MACHINE_SMT;
	vmm->cfg->hugepages = mem.pages;  /* a memory file comes in ordinary pages */
	snapshot_files_close(&f);
	term_raw(STDIN_FILENO);
	vmm->vm_built = true;
	/* Paused vCPUs park before their first KVM_RUN reaches guest code. */
	atomic_store(&vmm->m.vm.shared.pause_requested, !p.resume);
	vmm->state = p.resume ? VMM_RUNNING : VMM_PAUSED;
	if (vm_start_vcpus(&vmm->m.vm))
		vm_request_exit(&vmm->m.vm, 1, "cannot start the vCPUs");
	if (vmm->looping && sandbox_enter(SANDBOX_VMM))
		vm_request_exit(&vmm->m.vm, 1, "cannot confine the vmm thread");
	vmm->latency.load_snapshot = time_mono_us() - t0;
	log_info("snapshot loaded from %s (memory %s%s) in %llu us, microVM %s", p.state_path,
		 p.mem_path ? p.mem_path : "from the page-fault handler at ",
		 p.mem_path ? "" : p.uffd_path, (unsigned long long)vmm->latency.load_snapshot,
		 p.resume ? "running" : "paused");
	return 0;

err_machine:
	machine_destroy(&vmm->m);
	vmm->cfg->track_dirty_pages = was_tracking;
err_files:
	devices_cfg_free(&vmm->cfg->devs);  /* fresh again: none were configured */
	snapshot_files_close(&f);
	return ret;
}

int vmm_run(struct vmm *vmm)
{
	if (sandbox_enter(vmm->vm_built ? SANDBOX_VMM : SANDBOX_VMM_BOOT)) {
		if (vmm->vm_built)
			vm_request_exit(&vmm->m.vm, 1, "cannot confine the vmm thread");
		return 1;
	}
	vmm->looping = true;
	while (!vmm->done) {
		int ret = ev_run_once(&vmm->loop, -1);

		if (ret < 0) {
			log_error("event loop: %s", strerror(-ret));
			return 1;
		}
	}
	return vmm->exit_code;
}

void vmm_destroy(struct vmm *vmm)
{
	char err[128];

	if (metrics_flush(&vmm->metrics, err, sizeof(err)))
		log_warn("%s", err);
	metrics_close(&vmm->metrics);
	if (vmm->vm_built) {
		vm_kick_stop(&vmm->m.vm);
		machine_unblock_faults(&vmm->m);
		vm_stop_vcpus(&vmm->m.vm);
		term_restore();
		machine_destroy(&vmm->m);
		vmm->vm_built = false;
	}
	if (vmm->signal_src.fd > 0)
		close(vmm->signal_src.fd);
	ev_close(&vmm->loop);
	conout_close(&vmm->serial_out);
	conout_close(&vmm->console);
	log_set_stderr_writer(NULL, NULL);
	conout_close(&vmm->log_err);
}
