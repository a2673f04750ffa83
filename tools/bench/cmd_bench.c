#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

enum {
	OPT_PROVIDER = 0x300,
	OPT_MODE,
	OPT_COMMAND,
	OPT_JSON_FILE,
	OPT_SVG,
	OPT_BASELINE,
	OPT_IMAGE,
	OPT_STAGGER,
	OPT_PLUGINS,
	OPT_CALLS,
	OPT_STREAM_BYTES,
	OPT_HANDLES,
	OPT_ONLY,
	OPT_POOL,
	OPT_INTERLEAVE
};

static const char *const micro_names[4] = { "discovery", "calls", "stream", "memory" };

/* A whole number >= 1, with an optional K, M or G (powers of 1024) for sizes. */
static int parse_count(long long *out, const struct tool_cli *cli, const char *option, const char *arg, int sizes)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (sizes && end != arg && end[0] && !end[1]) {
		int shift = end[0] == 'K' ? 10 : end[0] == 'M' ? 20 : end[0] == 'G' ? 30 : -1;
		if (shift > 0 && v > 0 && v <= (LLONG_MAX >> shift)) {
			v <<= shift;
			end++;
		}
	}
	if (errno || end == arg || *end || v < 1)
		return tool_cli_usage(cli, "%s needs a whole number of at least 1, not '%s'", option, arg);
	*out = v;
	return 0;
}

static int push(const char ***list, size_t *n, const char *value)
{
	const char **grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown) {
		tool_error("out of memory");
		return TOOL_EXIT_FAILURE;
	}
	grown[(*n)++] = value;
	*list = grown;
	return 0;
}

/* --mode: an access mode (direct, gateway), a load mode or all. */
static int parse_mode(struct tool_bench_options *o, struct tool_cli *cli, const char *arg)
{
	enum tool_bench_mode mode;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (strcmp(arg, tool_bench_access_names[i]) == 0) {
			o->access[i] = 1;
			o->any_access = 1;
			return 0;
		}
	}
	if (strcmp(arg, "all") == 0) {
		for (i = 0; i < TOOL_BENCH_N_MODES; i++)
			o->modes[i] = 1;
	} else if (tool_bench_mode_parse(&mode, arg) == 0) {
		o->modes[mode] = 1;
	} else {
		return tool_cli_usage(cli, "unknown mode '%s' (use sequential, staggered, burst or all; or direct or gateway)", arg);
	}
	o->any_mode = 1;
	return 0;
}

static int parse_only(struct tool_bench_options *o, struct tool_cli *cli, const char *arg)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(arg, micro_names[i]) == 0) {
			o->only[i] = 1;
			o->any_only = 1;
			return 0;
		}
	}
	return tool_cli_usage(cli, "unknown micro-benchmark '%s' (use discovery, calls, stream or memory)", arg);
}

static int set_text(const char **out, struct tool_cli *cli, const char *what, const char *option, const char *arg)
{
	if (!*arg)
		return tool_cli_usage(cli, "empty %s given to %s", what, option);
	*out = arg;
	return 0;
}

static int tti_option(struct tool_bench_options *o, struct tool_cli *cli, int opt, const char *arg)
{
	o->tti_only_given = 1;
	switch (opt) {
	case OPT_PROVIDER:
		if (!*arg)
			return tool_cli_usage(cli, "empty provider name given to --provider");
		return push(&o->providers, &o->n_providers, arg);
	case OPT_MODE:
		return parse_mode(o, cli, arg);
	case 'n':
		o->n_given = 1;
		return parse_count(&o->n, cli, "-n", arg, 0);
	case OPT_COMMAND:
		return set_text(&o->command, cli, "command", "--command", arg);
	case OPT_SVG:
		return set_text(&o->svg_path, cli, "path", "--svg", arg);
	case OPT_BASELINE:
		if (!tool_bench_baseline_known(arg))
			return tool_cli_usage(cli, "unknown baseline '%s' (use " TOOL_BENCH_BASELINES ")", arg);
		return push(&o->baselines, &o->n_baselines, arg);
	case OPT_IMAGE:
		return set_text(&o->image, cli, "image", "--image", arg);
	case OPT_POOL:
		return parse_count(&o->pool, cli, "--pool", arg, 0);
	case OPT_INTERLEAVE:
		o->interleave = 1;
		return 0;
	default:
		return tool_parse_ms(&o->stagger_ms, cli, "--stagger-ms", arg);
	}
}

static int micro_option(struct tool_bench_options *o, struct tool_cli *cli, int opt, const char *arg)
{
	o->micro_only_given = 1;
	switch (opt) {
	case OPT_PLUGINS:
		o->plugins_list = arg;
		return 0;
	case OPT_CALLS:
		return parse_count(&o->calls, cli, "--calls", arg, 0);
	case OPT_STREAM_BYTES:
		return parse_count(&o->stream_bytes, cli, "--stream-bytes", arg, 1);
	case OPT_HANDLES:
		return parse_count(&o->handles, cli, "--handles", arg, 0);
	default:
		return parse_only(o, cli, arg);
	}
}

static int on_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	struct tool_bench_options *o = state;

	switch (opt) {
	case OPT_PROVIDER:
	case OPT_MODE:
	case 'n':
	case OPT_COMMAND:
	case OPT_SVG:
	case OPT_BASELINE:
	case OPT_IMAGE:
	case OPT_STAGGER:
	case OPT_POOL:
	case OPT_INTERLEAVE:
		return tti_option(o, cli, opt, arg);
	case OPT_PLUGINS:
	case OPT_CALLS:
	case OPT_STREAM_BYTES:
	case OPT_HANDLES:
	case OPT_ONLY:
		return micro_option(o, cli, opt, arg);
	case OPT_JSON_FILE:
		return set_text(&o->json_path, cli, "path", "--json", arg);
	default:
		return TOOL_EXIT_USAGE;
	}
}

/*
 * tool_parse knows -h as its only short option, so -n N and -nN become
 * --iterations N and --iterations=N before it runs.
 */
static int spell_out_n(int argc, char **argv, char **spelled)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-n") == 0) {
			argv[i] = (char *)"--iterations";
		} else if (strncmp(argv[i], "-n", 2) == 0 && !*spelled) {
			if (asprintf(spelled, "--iterations=%s", argv[i] + 2) < 0) {
				*spelled = NULL;
				tool_error("out of memory");
				return TOOL_EXIT_FAILURE;
			}
			argv[i] = *spelled;
		}
	}
	return 0;
}

static int run_bench(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, TOOL_OPT_HELP },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "iterations", required_argument, NULL, 'n' },
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ "json", required_argument, NULL, OPT_JSON_FILE },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "interleave", no_argument, NULL, OPT_INTERLEAVE },
		{ "stagger-ms", required_argument, NULL, OPT_STAGGER },
		{ "plugins", required_argument, NULL, OPT_PLUGINS },
		{ "calls", required_argument, NULL, OPT_CALLS },
		{ "stream-bytes", required_argument, NULL, OPT_STREAM_BYTES },
		{ "handles", required_argument, NULL, OPT_HANDLES },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ NULL, 0, NULL, 0 }
	};
	struct tool_bench_options o;
	char **pos, *spelled = NULL;
	size_t n_pos;
	int status;

	memset(&o, 0, sizeof(o));
	o.n = 100;
	o.command = NULL;
	o.stagger_ms = 200;
	o.calls = 10000000;
	o.stream_bytes = 1LL << 30;
	o.handles = 1000;
	o.plugins_list = "1,10,100,1000";
	if ((status = spell_out_n(argc, argv, &spelled)))
		return status;
	status = tool_parse(cli, argc, argv, longopts, TOOL_ALL_POSITIONALS, on_option, &o, &pos, &n_pos);
	if (status == 0 && n_pos == 0)
		status = tool_cli_usage(cli, "missing what to benchmark (tti, cmd or micro)");
	if (status == 0 && strcmp(pos[0], "tti") == 0) {
		if (!o.command)
			o.command = "node -v";
		if (o.micro_only_given)
			status = tool_cli_usage(cli, "--plugins, --calls, --stream-bytes, --handles and --only apply to 'bench micro' only");
		else
			status = tool_bench_tti(cli, pos + 1, n_pos - 1, &o);
	} else if (status == 0 && strcmp(pos[0], "cmd") == 0) {
		if (o.micro_only_given || o.any_mode || o.svg_path || o.image || o.stagger_ms != 200 || o.interleave)
			status = tool_cli_usage(cli, "bench cmd takes --provider, --mode direct|gateway, -n, --command, --baseline spawn and --json only");
		else
			status = tool_bench_cmd(cli, pos + 1, n_pos - 1, &o);
	} else if (status == 0 && strcmp(pos[0], "micro") == 0) {
		if (o.tti_only_given)
			status = tool_cli_usage(cli, "--provider, --mode, -n, --command, --svg, --baseline, --image, --stagger-ms, --pool and --interleave apply to 'bench tti' (and some to 'bench cmd') only");
		else
			status = tool_bench_micro(cli, pos + 1, n_pos - 1, &o);
	} else if (status == 0) {
		status = tool_cli_usage(cli, "unknown benchmark '%s' (use tti, cmd or micro)", pos[0]);
	}
	free(o.providers);
	free(o.baselines);
	free(spelled);
	return status < 0 ? 0 : status;
}

const struct tool_command tool_cmd_bench = {
	"bench", run_bench,
	"bench tti [--provider NAME]... [--baseline spawn|bwrap|bwrap-isolated|bwrap-bare|docker-cli]...\n"
	"          [--mode MODE]... [-n N] [--command CMD] [--image IMAGE] [--stagger-ms MS] [--pool N]\n"
	"          [--interleave] [--json FILE] [--svg FILE]\n"
	"bench cmd [--provider NAME]... [--mode direct|gateway]... [-n N] [--command CMD] [--json FILE]\n"
	"bench micro [--only discovery|calls|stream|memory]... [--plugins N,N,...] [--calls N]\n"
	"            [--stream-bytes N[K|M|G]] [--handles N] [--json FILE]",
	"benchmark time to interactive and the host's overheads against baselines",
	"  tti: create a sandbox, run a command, destroy it, N times per provider and mode\n"
	"      --provider NAME     a provider to measure (repeatable; default: the global --provider)\n"
	"      --baseline B        also measure spawn (the command itself), bwrap (under bubblewrap with\n"
	"                          the local provider's argv, network none), bwrap-isolated (that argv\n"
	"                          with network isolated: slirp4netns and its routes), bwrap-bare\n"
	"                          (namespaces and binds only) or docker-cli (docker run --rm IMAGE)\n"
	"      --mode MODE         sequential, staggered, burst or all (repeatable; default sequential);\n"
	"                          direct or gateway: each provider in that access mode (its key mode)\n"
	"  -n, --iterations N      iterations per provider and mode (default 100)\n"
	"      --command CMD       the first command (default 'node -v')\n"
	"      --image IMAGE       the image of the docker-cli baseline (required with it)\n"
	"      --stagger-ms MS     launch interval in staggered mode (default 200)\n"
	"      --pool N            also each provider with a pool of N ready sandboxes (key pool),\n"
	"                          filled before each of its rows and drained after\n"
	"      --interleave        sequential rows take turns (iteration 1 of each row, then 2, ...),\n"
	"                          so load drifting during the run falls on every row alike; pools\n"
	"                          are filled before the first turn and drained after the last\n"
	"      --svg FILE          write a chart (median with P95/P99 whiskers per row and mode)\n"
	"  cmd: the latency of one command on a sandbox that exists, N times, next to spawn\n"
	"      --mode direct|gateway  measure each provider in that mode (repeatable; default its own)\n"
	"  -n, --iterations N      commands timed per row (default 200)\n"
	"      --command CMD       the command (default 'echo hi')\n"
	"  micro: plugin discovery, per-call overhead, streaming throughput, memory per handle\n"
	"      --only NAME         run only discovery, calls, stream or memory (repeatable)\n"
	"      --plugins LIST      plugin counts for discovery (default 1,10,100,1000)\n"
	"      --calls N           calls timed for the per-call overhead (default 10000000)\n"
	"      --stream-bytes N    bytes streamed through run_command (default 1G)\n"
	"      --handles N         sandbox handles held open (default 1000)\n"
	"  tti, cmd and micro:\n"
	"      --json FILE         write all results as JSON ('-' for standard output)\n"
};
