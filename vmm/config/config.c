// SPDX-License-Identifier: Apache-2.0
/* config.c - see config.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->log_level = LOG_INFO;
	cfg->api_max_payload = 51200;
}

void config_free(struct vm_config *cfg)
{
	devices_cfg_free(&cfg->devs);
	free(cfg->logger.path);
	free(cfg->metrics_path);
	free(cfg->api_sock);
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	free(cfg->config_file);
	free(cfg->id);
	config_init(cfg);
}

const char *config_cmdline(const struct vm_config *cfg)
{
	return cfg->cmdline ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE;
}

/* ---- JSON sections ---------------------------------------------------- */

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
	set_str(&cfg->kernel_path, kernel);
	set_str(&cfg->cmdline, args);
	set_str(&cfg->initrd_path, initrd && *initrd ? initrd : NULL);
	return 0;
}

/* An integer field if present: *out keeps its value when absent. */
static void get_int(json_t *obj, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		*out = json_integer_value(v);
}

int config_put_machine(struct vm_config *cfg, json_t *obj, bool partial,
		       char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "vcpu_count", JSON_INTEGER, true },
		{ "mem_size_mib", JSON_INTEGER, true },
		{ "smt", JSON_TRUE, false },
		{ "track_dirty_pages", JSON_TRUE, false },
		{ "huge_pages", JSON_STRING, false },
		{ "cpu_template", JSON_STRING, false },
	};
	json_int_t vcpus = cfg->vcpus, mem = (json_int_t)cfg->mem_mib;
	const char *huge, *tmpl;
	bool hugepages = cfg->hugepages;
	int ret = json_check_fields("machine-config", obj, fields, 6, partial, err, errlen);

	if (ret)
		return ret;
	get_int(obj, "vcpu_count", &vcpus);
	get_int(obj, "mem_size_mib", &mem);
	huge = json_string_value(json_object_get(obj, "huge_pages"));
	tmpl = json_string_value(json_object_get(obj, "cpu_template"));
	if (vcpus < 1 || vcpus > EMBER_MAX_VCPUS)
		return fail(err, errlen, "machine-config: 'vcpu_count' must be between 1 and %d",
			    EMBER_MAX_VCPUS);
	if (mem < (json_int_t)EMBER_MIN_MEM_MIB || mem > (json_int_t)EMBER_MAX_MEM_MIB)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be between %llu and %llu",
			    EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB);
	if (json_is_true(json_object_get(obj, "smt")))
		return fail(err, errlen, "machine-config: 'smt' is not supported (must be false)");
	if (huge && strcmp(huge, "None") && strcmp(huge, "2M"))
		return fail(err, errlen, "machine-config: 'huge_pages' must be \"None\" or \"2M\"");
	if (huge)
		hugepages = !strcmp(huge, "2M");
	if (hugepages && mem % 2)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be a multiple of 2 with 2M huge pages");
	if (tmpl && strcmp(tmpl, "None"))
		return fail(err, errlen, "machine-config: 'cpu_template' \"%s\" is not supported", tmpl);
	cfg->vcpus = (unsigned int)vcpus;
	cfg->mem_mib = (uint64_t)mem;
	cfg->hugepages = hugepages;
	return 0;
}

/* Sections Firecracker has that ember does not offer. */
static const char *const unsupported_sections[] = {
	"mmds-config", "balloon", "entropy", "cpu-config",
};

/* "drives" and "network-interfaces" are arrays of what PUT takes. */
static int parse_device_array(struct vm_config *cfg, const char *key, json_t *val,
			      char *err, size_t errlen)
{
	size_t i;
	json_t *item;
	int ret;

	if (!json_is_array(val))
		return fail(err, errlen, "'%s' must be an array", key);
	json_array_foreach(val, i, item) {
		ret = !strcmp(key, "drives")
			      ? config_put_drive(cfg, NULL, item, false, err, errlen)
			      : config_put_net(cfg, NULL, item, false, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_section(struct vm_config *cfg, const char *key, json_t *val,
			 char *err, size_t errlen)
{
	if (!strcmp(key, "boot-source"))
		return config_put_boot_source(cfg, val, err, errlen);
	if (!strcmp(key, "machine-config"))
		return config_put_machine(cfg, val, false, err, errlen);
	if (!strcmp(key, "drives") || !strcmp(key, "network-interfaces"))
		return parse_device_array(cfg, key, val, err, errlen);
	if (!strcmp(key, "vsock"))
		return json_is_null(val) ? 0 : config_put_vsock(cfg, val, err, errlen);
	if (!strcmp(key, "logger"))
		return json_is_null(val) ? 0 : config_put_logger(cfg, val, err, errlen);
	if (!strcmp(key, "metrics"))
		return json_is_null(val) ? 0 : config_put_metrics(cfg, val, err, errlen);
	for (size_t i = 0; i < sizeof(unsupported_sections) / sizeof(char *); i++) {
		if (strcmp(key, unsupported_sections[i]))
			continue;
		if (json_is_null(val) || (json_is_array(val) && !json_array_size(val)))
			return 0;
		return fail(err, errlen, "'%s' is not supported by ember", key);
	}
	return fail(err, errlen, "unknown configuration section '%s'", key);
}

/* Move what a config file sets from `src` into `dst`, freeing what it replaces. */
static void config_take_file(struct vm_config *dst, struct vm_config *src)
{
	if (src->kernel_path) {
		free(dst->kernel_path);
		free(dst->initrd_path);
		free(dst->cmdline);
		dst->kernel_path = src->kernel_path;
		dst->initrd_path = src->initrd_path;
		dst->cmdline = src->cmdline;
	}
	dst->vcpus = src->vcpus;
	dst->mem_mib = src->mem_mib;
	dst->hugepages = src->hugepages;
	dst->log_level = src->log_level;
	devices_cfg_free(&dst->devs);
	dst->devs = src->devs;
	if (src->logger.configured) {
		free(dst->logger.path);
		dst->logger = src->logger;
	}
	if (src->metrics_path) {
		free(dst->metrics_path);
		dst->metrics_path = src->metrics_path;
	}
}

int config_parse_json(struct vm_config *cfg, const char *text, char *err, size_t errlen)
{
	struct vm_config tmp;
	json_error_t jerr;
	json_t *root, *val;
	const char *key;
	int ret = 0;

	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, "invalid JSON at line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "the configuration must be a JSON object");
	}
	/* Parse into a scratch configuration so a failure leaves `cfg` as it was. */
	config_init(&tmp);
	tmp.vcpus = cfg->vcpus;
	tmp.mem_mib = cfg->mem_mib;
	tmp.hugepages = cfg->hugepages;
	tmp.log_level = cfg->log_level;
	json_object_foreach(root, key, val) {
		ret = parse_section(&tmp, key, val, err, errlen);
		if (ret)
			break;
	}
	json_decref(root);
	if (ret) {
		config_free(&tmp);
		return ret;
	}
	config_take_file(cfg, &tmp);
	return 0;
}

static int config_load_file(struct vm_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL, msg[CONFIG_ERR_LEN];
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "re");
	int ret;

	if (!f)
		return fail(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
	for (;;) {
		if (cap - len < 4096) {
			char *n = realloc(text, cap + 65536);

			if (!n) {
				fclose(f);
				free(text);
				return -ENOMEM;
			}
			text = n;
			cap += 65536;
		}
		size_t got = fread(text + len, 1, cap - len - 1, f);

		len += got;
		if (!got)
			break;
	}
	fclose(f);
	text[len] = '\0';
	ret = config_parse_json(cfg, text, msg, sizeof(msg));
	free(text);
	if (ret)
		return fail(err, errlen, "config file %s: %s", path, msg);
	return 0;
}

/* ---- command line --------------------------------------------------- */

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_VCPUS, OPT_MEM, OPT_HUGE,
	OPT_BOOT_TIMER, OPT_CONFIG, OPT_ID, OPT_LEVEL, OPT_HELP, OPT_VERSION,
	OPT_API_SOCK, OPT_MAX_PAYLOAD, OPT_NO_API,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "mem-mib", required_argument, NULL, OPT_MEM },
	{ "huge-pages", no_argument, NULL, OPT_HUGE },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "config-file", required_argument, NULL, OPT_CONFIG },
	{ "id", required_argument, NULL, OPT_ID },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void config_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --kernel PATH [--initrd PATH] [--cmdline STR] [--vcpus N]\n"
		"          [--mem-mib N] [--huge-pages] [--boot-timer] [--config-file FILE]\n"
		"          [--api-sock PATH [--http-api-max-payload-size BYTES]] [--no-api]\n"
		"          [--id NAME] [--level Error|Warning|Info|Debug] [--help] [--version]\n",
		prog);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Apply one flag (not --config-file, which is handled first). */
static int apply_opt(struct vm_config *cfg, int opt, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL: set_str(&cfg->kernel_path, arg); break;
	case OPT_INITRD: set_str(&cfg->initrd_path, arg); break;
	case OPT_CMDLINE:
		if (strlen(arg) >= LAYOUT_CMDLINE_MAX)
			return fail(err, errlen, "--cmdline: %zu bytes, the limit is %llu",
				    strlen(arg), LAYOUT_CMDLINE_MAX - 1);
		set_str(&cfg->cmdline, arg);
		break;
	case OPT_VCPUS:
		if (parse_u64(arg, 1, EMBER_MAX_VCPUS, &v))
			return fail(err, errlen, "--vcpus: '%s' is not a number from 1 to %d",
				    arg, EMBER_MAX_VCPUS);
		cfg->vcpus = (unsigned int)v;
		break;
	case OPT_MEM:
		if (parse_u64(arg, EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB, &v))
			return fail(err, errlen, "--mem-mib: '%s' is not a number from %llu to %llu",
				    arg, EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB);
		cfg->mem_mib = v;
		break;
	case OPT_HUGE: cfg->hugepages = true; break;
	case OPT_BOOT_TIMER: cfg->boot_timer = true; break;
	case OPT_ID: set_str(&cfg->id, arg); break;
	case OPT_LEVEL:
		if (log_level_parse(arg, &cfg->log_level))
			return fail(err, errlen, "--level: unknown log level '%s'", arg);
		break;
	case OPT_API_SOCK: set_str(&cfg->api_sock, arg); break;
	case OPT_MAX_PAYLOAD:
		if (parse_u64(arg, 1, 64ULL << 20, &v))
			return fail(err, errlen, "--http-api-max-payload-size: '%s' is not a number from 1 to %llu",
				    arg, 64ULL << 20);
		cfg->api_max_payload = (size_t)v;
		break;
	case OPT_NO_API: cfg->no_api = true; break;
	case OPT_HELP: cfg->show_help = true; break;
	case OPT_VERSION: cfg->show_version = true; break;
	default:
		return fail(err, errlen, "unknown option (see --help)");
	}
	return 0;
}

int config_parse_args(struct vm_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct vm_config scratch;
	const char *file = NULL;
	int opt, ret = 0;

	/* Pass 1: check every flag on a scratch config, changing nothing.
	 * optind = 0 makes glibc reset all of getopt's state. */
	config_init(&scratch);
	opterr = 0;
	optind = 0;
	while (!ret && (opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			ret = fail(err, errlen, "unknown option or missing value: '%s'",
				   argv[optind - 1]);
		else if (opt == OPT_CONFIG)
			file = optarg;
		else
			ret = apply_opt(&scratch, opt, optarg, err, errlen);
	}
	config_free(&scratch);
	if (ret)
		return ret;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	/* Pass 2: the config file (all or nothing), then the flags over it,
	 * which cannot fail now. */
	if (file) {
		ret = config_load_file(cfg, file, err, errlen);
		if (ret)
			return ret;
		set_str(&cfg->config_file, file);
	}
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		if (opt != OPT_CONFIG)
			apply_opt(cfg, opt, optarg, err, errlen);
	return 0;
}

int config_check_mode(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->no_api && cfg->api_sock)
		return fail(err, errlen, "--no-api and --api-sock exclude each other");
	if (cfg->no_api && !cfg->config_file)
		return fail(err, errlen, "--no-api needs --config-file");
	if (!cfg->api_sock && !cfg->kernel_path)
		return fail(err, errlen, "no kernel: give --kernel, a config file with boot-source, or --api-sock");
	return 0;
}

int config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->kernel_path)
		return fail(err, errlen, "no kernel: configure boot-source first");
	if (cfg->hugepages && cfg->mem_mib % 2)
		return fail(err, errlen, "memory must be a multiple of 2 MiB with huge pages");
	return 0;
}
