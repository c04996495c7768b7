// SPDX-License-Identifier: MIT
/*
 * init.c - PID 1 of ember's test guests.
 *
 * Mounts proc, sys and devtmpfs, signals the boot timer, prints a greeting,
 * the number of online CPUs and the uptime, runs the test named by the kernel
 * parameter `ember.test=` and reboots the guest, which ends the VMM.
 *
 *   ember.test=echo    read one line from the console, print "ember: got <line>"
 *   ember.test=shell   run /bin/sh (busybox) until it exits
 *   ember.test=NAME    run the executable /tests/NAME if the initramfs has one
 *   (absent)           nothing
 *
 * Built static (gcc -static -Os) by tests/guests/mkinitramfs.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Firecracker-compatible boot timer: writing 123 here stops the VMM's clock. */
#define BOOT_TIMER_GPA 0xC0000000UL
#define BOOT_TIMER_MAGIC 123

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("ember: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) < 0 && errno != EBUSY)
		say("mount %s: %s", dir, strerror(errno));
}

/* Without an initial console (no /dev/console in the initramfs), use devtmpfs'. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(1, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void boot_timer_signal(void)
{
	volatile uint8_t *page;
	int fd = open("/dev/mem", O_RDWR | O_SYNC);

	if (fd < 0)
		return;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, BOOT_TIMER_GPA);
	if (page != MAP_FAILED) {
		page[0] = BOOT_TIMER_MAGIC;
		munmap((void *)page, 4096);
	}
	close(fd);
}

static double uptime_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Value of `ember.test=` on the kernel command line, or "" when absent. */
static void cmdline_test(char *out, size_t len)
{
	char buf[4096], *tok, *save;
	FILE *f = fopen("/proc/cmdline", "r");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (strncmp(tok, "ember.test=", 11) == 0)
				snprintf(out, len, "%s", tok + 11);
	}
	fclose(f);
}

/* Run argv[0] with argv in a new session and wait for it. */
static void run(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		setsid();
		execv(argv[0], argv);
		say("exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

static void test_echo(void)
{
	char line[1024];

	if (!fgets(line, sizeof(line), stdin)) {
		say("got nothing");
		return;
	}
	line[strcspn(line, "\r\n")] = '\0';
	say("got %s", line);
}

static void run_test(const char *name)
{
	char path[256];

	if (!name[0])
		return;
	if (strcmp(name, "echo") == 0) {
		test_echo();
		return;
	}
	if (strcmp(name, "shell") == 0) {
		/* busybox cttyhack makes the serial console the shell's controlling tty */
		static char *const shell[] = { "/bin/cttyhack", "/bin/sh", NULL };

		if (access(shell[0], X_OK) == 0)
			run(shell);
		else if (access(shell[1], X_OK) == 0)
			run(shell + 1);
		else
			say("no /bin/sh in this initramfs");
		return;
	}
	snprintf(path, sizeof(path), "/tests/%s", name);
	if (access(path, X_OK) == 0)
		run((char *const[]){ path, NULL });
	else
		say("unknown test %s", name);
}

int main(void)
{
	char test[128];

	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	ensure_console();
	boot_timer_signal();

	say("hello from the guest");
	say("cpus online %ld", sysconf(_SC_NPROCESSORS_ONLN));
	say("uptime %.2f s", uptime_seconds());

	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	cmdline_test(test, sizeof(test));
	run_test(test);

	sync();
	reboot(RB_AUTOBOOT);
	say("reboot: %s", strerror(errno));
	for (;;)
		pause();
}
