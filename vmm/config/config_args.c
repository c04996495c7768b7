// SPDX-License-Identifier: Apache-2.0
/*
 * config_args.c - the command line: every flag is checked before anything
 * changes, then a config file named by --config-file is loaded (all or
 * nothing) and the other flags override it.  See config.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

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

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_VCPUS, OPT_MEM, OPT_HUGE,
	OPT_BOOT_TIMER, OPT_CONFIG, OPT_ID, OPT_LEVEL, OPT_HELP, OPT_VERSION,
	OPT_API_SOCK, OPT_MAX_PAYLOAD, OPT_NO_API, OPT_CONSOLE_BUDGET, OPT_NO_SECCOMP,
	OPT_SECCOMP_FILTER, OPT_PRINT_SECCOMP, OPT_DESCRIBE_SNAPSHOT,
	OPT_REBASE_MEMORY,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "mem-mib", required_argument, NULL, OPT_MEM },
	{ "huge-pages", no_argument, NULL, OPT_HUGE },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "console-budget", required_argument, NULL, OPT_CONSOLE_BUDGET },
	{ "config-file", required_argument, NULL, OPT_CONFIG },
	{ "id", required_argument, NULL, OPT_ID },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "print-seccomp-policy", no_argument, NULL, OPT_PRINT_SECCOMP },
	{ "describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT },
	{ "rebase-snapshot-memory", required_argument, NULL, OPT_REBASE_MEMORY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void config_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --kernel PATH [--initrd PATH] [--cmdline STR] [--vcpus N]\n"
		"          [--mem-mib N] [--huge-pages] [--boot-timer] [--config-file FILE]\n"
		"          [--console-budget BYTES,REFILL_MS | --console-budget 0]\n"
		"          [--api-sock PATH [--http-api-max-payload-size BYTES]] [--no-api]\n"
		"          [--no-seccomp | --seccomp-filter FILE] [--print-seccomp-policy]\n"
		"          [--id NAME] [--level Off|Error|Warning|Info|Debug|Trace] [--help] [--version]\n"
		"       %s --describe-snapshot STATE_FILE\n"
		"       %s --rebase-snapshot-memory BASE_MEM_FILE DIFF_MEM_FILE\n",
		prog, prog, prog);
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

/* --console-budget BYTES,REFILL_MS (a token bucket of BYTES, full again
 * after REFILL_MS ms, the rate limiter's bounds) or 0 (no cap). */
static int parse_console_budget(const char *arg, struct token_bucket_cfg *out)
{
	uint64_t size, refill;
	char *copy, *comma;
	int ret = -EINVAL;

	if (!strcmp(arg, "0")) {
		*out = (struct token_bucket_cfg){ 0 };
		return 0;
	}
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	comma = strchr(copy, ',');
	if (comma) {
		*comma = '\0';
		if (!parse_u64(copy, 1, INT64_MAX, &size) &&
		    !parse_u64(comma + 1, 1, UINT64_MAX / 1000000ULL, &refill)) {
			*out = (struct token_bucket_cfg){ .set = true, .size = size,
							  .refill_time_ms = refill };
			ret = 0;
		}
	}
	free(copy);
	return ret;
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
	case OPT_HUGE: cfg->hugepages = GM_PAGES_HUGETLB; break;
	case OPT_BOOT_TIMER: cfg->boot_timer = true; break;
	case OPT_CONSOLE_BUDGET:
		if (parse_console_budget(arg, &cfg->console_budget))
			return fail(err, errlen, "--console-budget: '%s' is not BYTES,REFILL_MS (both positive) or 0",
				    arg);
		break;
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
	case OPT_NO_SECCOMP: cfg->no_seccomp = true; break;
	case OPT_SECCOMP_FILTER: set_str(&cfg->seccomp_filter, arg); break;
	case OPT_PRINT_SECCOMP: cfg->print_seccomp = true; break;
	case OPT_DESCRIBE_SNAPSHOT: set_str(&cfg->describe_snapshot, arg); break;
	case OPT_REBASE_MEMORY: set_str(&cfg->rebase_base, arg); break;
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
	const char *file = NULL, *diff = NULL;
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
	if (!ret && scratch.no_seccomp && scratch.seccomp_filter)
		ret = fail(err, errlen, "--no-seccomp and --seccomp-filter exclude each other");
	/* --rebase-snapshot-memory BASE DIFF: the one positional argument. */
	if (!ret && scratch.rebase_base && optind != argc - 1)
		ret = fail(err, errlen, "--rebase-snapshot-memory takes two files: BASE DIFF");
	if (!ret && scratch.rebase_base)
		diff = argv[optind++];
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
	if (diff)
		set_str(&cfg->rebase_diff, diff);
	return 0;
}
