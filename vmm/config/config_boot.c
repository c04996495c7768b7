// SPDX-License-Identifier: Apache-2.0
/*
 * config_boot.c - the "boot-source" section (config file, PUT /boot-source):
 * kernel, initrd and kernel command line.  See config.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_section.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

const char *config_cmdline(const struct vm_config *cfg)
{
	return cfg->cmdline ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE;
}

/*
 * Firecracker opens the kernel and initrd when PUT /boot-source arrives, so
 * a path that cannot be opened is refused then, not at InstanceStart.  Only
 * a regular file passes, checked before the open so no device node or FIFO
 * is ever opened; the open uses the flags the loaders use at start (the
 * vmm_boot seccomp list allows just those).  The loaders check the file
 * again at start.
 */
static int check_boot_file(const char *field, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (stat(path, &st))
		return fail(err, errlen, "boot-source: cannot open '%s' ('%s'): %s", path, field,
			    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, "boot-source: '%s' ('%s') is not a regular file", path,
			    field);
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "boot-source: cannot open '%s' ('%s'): %s", path, field,
			    strerror(errno));
	close(fd);
	return 0;
}

/* Linux takes the command line as printable ASCII, as Firecracker checks. */
static bool cmdline_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

int config_put_boot_source(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "kernel_image_path", JSON_STRING, true },
		{ "boot_args", JSON_STRING, false },
		{ "initrd_path", JSON_STRING, false },
	};
	const char *kernel, *args, *initrd;
	int ret = json_check_fields("boot-source", obj, fields, 3, false, err, errlen);

	if (ret)
		return ret;
	kernel = json_string_value(json_object_get(obj, "kernel_image_path"));
	args = json_string_value(json_object_get(obj, "boot_args"));
	initrd = json_string_value(json_object_get(obj, "initrd_path"));
	if (!*kernel)
		return fail(err, errlen, "boot-source: 'kernel_image_path' is empty");
	if (args && strlen(args) >= LAYOUT_CMDLINE_MAX)
		return fail(err, errlen, "boot-source: 'boot_args' is %zu bytes, the limit is %llu",
			    strlen(args), LAYOUT_CMDLINE_MAX - 1);
	if (args && !cmdline_printable(args))
		return fail(err, errlen, "boot-source: 'boot_args' may hold only printable ASCII characters");
	if ((ret = check_boot_file("kernel_image_path", kernel, err, errlen)))
		return ret;
	if (initrd && *initrd && (ret = check_boot_file("initrd_path", initrd, err, errlen)))
		return ret;
	set_str(&cfg->kernel_path, kernel);
	set_str(&cfg->cmdline, args);
	set_str(&cfg->initrd_path, initrd && *initrd ? initrd : NULL);
	return 0;
}

json_t *config_boot_source_to_json(const struct vm_config *cfg)
{
	json_t *boot = json_object();

	/* Required by the swagger: "" until a kernel is configured. */
	json_object_set_new(boot, "kernel_image_path",
			    json_string(cfg->kernel_path ? cfg->kernel_path : ""));
	if (cfg->initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(cfg->initrd_path));
	json_object_set_new(boot, "boot_args", json_string(config_cmdline(cfg)));
	return boot;
}
