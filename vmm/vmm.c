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

#include "api-socket/api.h"
#include "virtio/blk/blk.h"
#include "virtio/net/net.h"
#include "vmm/core/log.h"
#include "api-socket/router.h"
#include "vmm/devices/serial.h"
#include "vmm/core/term.h"
#include "vmm.h"

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
		space = serial_rx_space(vmm->vm.serial);
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
		serial_input(vmm->vm.serial, buf, (size_t)n);
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
	vmm->exit_code = vmm->vm.exit_code;
	vmm->done = true;
}

static void on_signal(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (vmm->vm_built) {
		vm_request_exit(&vmm->vm, 0, strsignal((int)si.ssi_signo));
	} else {
		log_info("stopping: %s", strsignal((int)si.ssi_signo));
		vmm->done = true;
	}
}

static void on_api_request(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	struct api_request *req;

	(void)events;
	while ((req = api_server_take(vmm->api))) {
		api_route(vmm, req);
		api_server_reply(vmm->api, req);
	}
}

static int vmm_add_source(struct vmm *vmm, struct ev_source *src, int fd, ev_cb cb)
{
	*src = (struct ev_source){ .fd = fd, .cb = cb, .opaque = vmm };
	return ev_add(&vmm->loop, src, EPOLLIN);
}

int vmm_init(struct vmm *vmm, struct vm_config *cfg)
{
	struct api_server_opts opts = {
		.sock_path = cfg->api_sock,
		.max_payload = cfg->api_max_payload,
		.max_conns = API_DEFAULT_MAX_CONNS,
		.timeout_ms = API_DEFAULT_TIMEOUT_MS,
	};
	char err[CONFIG_ERR_LEN] = "";
	sigset_t set;
	int sigfd, ret;

	memset(vmm, 0, sizeof(*vmm));
	metrics_init(&vmm->metrics);
	vmm->cfg = cfg;
	vmm->vm.exit_efd = -1;
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
	if (cfg->metrics_path) {  /* from the config file */
		ret = metrics_open(vmm, cfg->metrics_path, err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			return ret;
		}
	}
	if (!cfg->api_sock)
		return 0;
	ret = api_server_start(&vmm->api, &opts);
	if (ret) {
		log_error("API socket %s: %s", cfg->api_sock, strerror(-ret));
		return ret;
	}
	/* read by the start-up benchmark */
	log_debug("API socket ready at monotonic %llu us, process CPU %llu us",
		  (unsigned long long)time_mono_us(), (unsigned long long)time_cpu_us());
	return vmm_add_source(vmm, &vmm->api_src, api_server_request_fd(vmm->api),
			      on_api_request);
}

/* Wire the running VM's fds into the loop. */
static int vmm_watch_vm(struct vmm *vmm)
{
	int ret = vmm_add_source(vmm, &vmm->exit_src, vmm->vm.exit_efd, on_vm_exit);

	if (!ret)
		ret = vmm_add_source(vmm, &vmm->serial_rx_src, vmm->vm.serial->rx_ready_efd,
				     on_serial_rx);
	vmm->stdin_src = (struct ev_source){ .fd = STDIN_FILENO, .cb = on_stdin, .opaque = vmm };
	if (!ret)
		vmm_stdin_arm(vmm, true);  /* harmless when stdin is closed */
	return ret;
}

int vmm_start(struct vmm *vmm, char *err, size_t errlen)
{
	int ret;

	if (vmm->state != VMM_NOT_STARTED)
		return fail(err, errlen, -EBUSY, "the microVM is already running");
	ret = config_validate(vmm->cfg, err, errlen);
	if (ret)
		return ret;
	/* The boot timer measures from here: the start request. */
	vmm->vm.start_us = time_mono_us();
	vmm->vm.start_cpu_us = time_cpu_us();
	if (!vmm->cfg->api_sock) {  /* no API: from process start */
		vmm->vm.start_us = vmm->start_us;
		vmm->vm.start_cpu_us = vmm->start_cpu_us;
	}
	ret = vm_create(&vmm->vm, vmm->cfg);
	vmm->vm.loop = &vmm->loop;
	if (!ret)
		ret = vm_add_devices(&vmm->vm);
	if (!ret)
		ret = vm_load_kernel(&vmm->vm);
	if (!ret)
		ret = vmm_watch_vm(vmm);
	if (ret) {
		vm_destroy(&vmm->vm);
		return fail(err, errlen, ret, "cannot start the microVM: %s (see the log)",
			    strerror(-ret));
	}
	term_raw(STDIN_FILENO);
	vmm->vm_built = true;
	vmm->state = VMM_RUNNING;
	ret = vm_start_vcpus(&vmm->vm);
	if (ret)
		vm_request_exit(&vmm->vm, 1, "cannot start the vCPUs");
	return 0;
}

static struct blk_dev *vmm_find_blk(struct vmm *vmm, const char *id)
{
	for (unsigned int i = 0; i < vmm->vm.nr_blks; i++)
		if (!strcmp(vmm->vm.blks[i]->id_full, id))
			return vmm->vm.blks[i];
	return NULL;
}

int vmm_patch_drive(struct vmm *vmm, const char *id, struct json_t *body, char *err,
		    size_t errlen)
{
	struct drive_cfg *dr = config_find_drive(&vmm->cfg->devs, id);
	char *old = dr ? strdup(dr->path) : NULL;
	int ret = config_put_drive(vmm->cfg, id, body, true, err, errlen);
	struct blk_dev *b;

	if (ret || !old || !vmm->vm_built || !(b = vmm_find_blk(vmm, id)))
		goto out;
	dr = config_find_drive(&vmm->cfg->devs, id);
	if (json_object_get(body, "rate_limiter"))
		blk_set_rate_limiter(b, &dr->rate_limiter);
	if (strcmp(dr->path, old)) {
		ret = blk_set_backing(b, dr->path);
		if (ret) {
			ret = fail(err, errlen, ret, "drives: cannot use %s: %s", dr->path,
				   strerror(-ret));
			free(dr->path);  /* the device keeps the old image: so does the config */
			dr->path = old;
			old = NULL;
		}
	}
out:
	free(old);
	return ret;
}

int vmm_patch_net(struct vmm *vmm, const char *id, struct json_t *body, char *err,
		  size_t errlen)
{
	int ret = config_put_net(vmm->cfg, id, body, true, err, errlen);
	const struct net_cfg *nc = NULL;

	if (ret || !vmm->vm_built)
		return ret;
	for (unsigned int i = 0; i < vmm->cfg->devs.nr_nets; i++)
		if (!strcmp(vmm->cfg->devs.nets[i].id, id))
			nc = &vmm->cfg->devs.nets[i];
	for (unsigned int i = 0; nc && i < vmm->vm.nr_nets; i++)
		if (!strcmp(vmm->vm.nets[i]->id, id))
			net_set_rate_limiters(vmm->vm.nets[i],
					      json_object_get(body, "rx_rate_limiter") ? &nc->rx : NULL,
					      json_object_get(body, "tx_rate_limiter") ? &nc->tx : NULL);
	return 0;
}

int vmm_pause(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state == VMM_NOT_STARTED)
		return fail(err, errlen, -EINVAL, "the microVM is not running");
	if (vmm->state == VMM_PAUSED)
		return 0;
	if (vm_pause(&vmm->vm))
		return fail(err, errlen, -ESHUTDOWN, "the microVM is shutting down");
	vmm->state = VMM_PAUSED;
	log_info("microVM paused");
	return 0;
}

int vmm_resume(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state == VMM_NOT_STARTED)
		return fail(err, errlen, -EINVAL, "the microVM is not running");
	if (vmm->state == VMM_RUNNING)
		return 0;
	vm_resume(&vmm->vm);
	vmm->state = VMM_RUNNING;
	log_info("microVM resumed");
	return 0;
}

int vmm_run(struct vmm *vmm)
{
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

	if (metrics_flush(vmm, err, sizeof(err)))
		log_warn("%s", err);
	metrics_close(&vmm->metrics);
	if (vmm->api)
		api_server_stop(vmm->api);
	vmm->api = NULL;
	if (vmm->vm_built) {
		vm_stop_vcpus(&vmm->vm);
		term_restore();
		vm_destroy(&vmm->vm);
		vmm->vm_built = false;
	}
	if (vmm->signal_src.fd > 0)
		close(vmm->signal_src.fd);
	ev_close(&vmm->loop);
}
