/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2bench -- the project's benchmarks as one tool.
 *
 * Every bench/<area>/suite_<name>.c found at build time is linked in (see
 * CMakeLists.txt, which generates the suite table). Each suite runs in a
 * child process so that one that crashes or exits cannot take the others
 * with it; the child sends its rows back through a pipe. The table goes to
 * stdout; --csv, --json and --plot write files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "plot.h"
#include "common/cpu_profile.h"

struct pmem2bench_suite {
	const char *name;
	void (*run)(void);
};
extern const struct pmem2bench_suite pmem2bench_suites[];

static const char *prog = "pmem2bench";

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: pmem2bench [OPTION]... [SUITE]...\n"
"Run the benchmark suites (all of them when none is named) and print a table:\n"
"each figure, the reference measured in the same run, and their ratio\n"
"(> 1: the figure beats its reference).\n"
"\n"
"  --quick          shorter runs (also PMEM2_BENCH_QUICK=1); under a minute\n"
"  --repeat N       run the suites N times and report, per row, the medians\n"
"                   of the figure, the reference and the ratio (the ratio:\n"
"                   median of the per-pass ratios)\n"
"  --csv FILE       also write the rows as CSV\n"
"  --json FILE      also write the rows as JSON\n"
"  --plot FILE.svg  draw throughput against size (gnuplot when installed,\n"
"                   else the built-in SVG writer)\n"
"  --list           list the suites and exit\n"
"  -h, --help       this help\n"
"\n"
"Suites:");
	for (const struct pmem2bench_suite *s = pmem2bench_suites; s->name; s++)
		fprintf(f, " %s", s->name);
	if (!pmem2bench_suites[0].name)
		fprintf(f, " (none built)");
	fprintf(f, "\n");
}

static const struct pmem2bench_suite *
find_suite(const char *name)
{
	for (const struct pmem2bench_suite *s = pmem2bench_suites; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Row transport between the suite's child and us: one line per row. */
static void
put_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\t' || *s == '\n' ? ' ' : *s, f);
	fputc('\t', f);
}

static void
send_rows(int fd)
{
	FILE *f = fdopen(fd, "w");
	if (!f)
		_exit(3);
	for (int i = 0; i < bench_nrows(); i++) {
		const struct bench_rowdata *r = bench_get_row(i);
		put_field(f, r->suite);
		put_field(f, r->name);
		fprintf(f, "%.17g\t", r->value);
		put_field(f, r->unit);
		put_field(f, r->ref_name);
		fprintf(f, "%.17g\t%d\n", r->ref_value, r->higher_is_better);
	}
	fclose(f);
}

static int
recv_rows(int fd)
{
	FILE *f = fdopen(fd, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, f) > 0) {
		char *fld[7];
		char *p = line;
		int k = 0;
		for (; k < 7; k++) {
			fld[k] = p;
			char *t = strchr(p, k == 6 ? '\n' : '\t');
			if (!t) {
				if (k == 6)
					k++;
				break;
			}
			*t = '\0';
			p = t + 1;
		}
		if (k != 7)
			continue;
		bench_row(fld[0], fld[1], strtod(fld[2], NULL), fld[3],
			*fld[4] ? fld[4] : NULL, strtod(fld[5], NULL),
			atoi(fld[6]));
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* Runs one suite in a child; returns 0 when it exited cleanly. */
static int
run_suite(const struct pmem2bench_suite *s)
{
	int p[2];
	if (pipe(p) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return -1;
	}
	fflush(NULL);
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		/* a suite's own chatter must not mix with the table */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		bench_reset();
		s->run();
		fflush(NULL);
		send_rows(p[1]);
		_exit(0);
	}
	close(p[1]);
	int n = recv_rows(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	double t = bench_now() - t0;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "%s: suite %s died with signal %d after %.1f s\n",
			prog, s->name, WTERMSIG(st), t);
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s: suite %s exited with %d after %.1f s\n",
			prog, s->name, WEXITSTATUS(st), t);
		return -1;
	}
	/*
	 * Suites record nothing when they cannot measure (no file to write,
	 * a failed operation): no rows is a failed suite, not a quiet one.
	 */
	if (n <= 0) {
		fprintf(stderr, "%s: suite %s failed: no rows after %.1f s\n",
			prog, s->name, t);
		return -1;
	}
	fprintf(stderr, "%s: suite %s: %d rows in %.1f s\n", prog, s->name,
		n, t);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *csv = NULL, *json = NULL, *plot = NULL;
	int repeat = 1;
	enum { OPT_CSV = 256, OPT_JSON, OPT_PLOT, OPT_QUICK, OPT_LIST, OPT_REPEAT };
	static const struct option longopts[] = {
		{"csv", required_argument, NULL, OPT_CSV},
		{"json", required_argument, NULL, OPT_JSON},
		{"plot", required_argument, NULL, OPT_PLOT},
		{"quick", no_argument, NULL, OPT_QUICK},
		{"list", no_argument, NULL, OPT_LIST},
		{"repeat", required_argument, NULL, OPT_REPEAT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_CSV: csv = optarg; break;
		case OPT_JSON: json = optarg; break;
		case OPT_PLOT: plot = optarg; break;
		case OPT_QUICK:
			bench_set_quick(1);
			/* helper programs a suite starts see it too */
			setenv("PMEM2_BENCH_QUICK", "1", 1);
			break;
		case OPT_REPEAT: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 100) {
				fprintf(stderr, "%s: --repeat wants 1 to 100, "
					"not '%s'\n", prog, optarg);
				return 2;
			}
			repeat = (int)n;
			break;
		}
		case OPT_LIST:
			for (const struct pmem2bench_suite *s = pmem2bench_suites;
			     s->name; s++)
				printf("%s\n", s->name);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n",
				prog, argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "%s: unknown option '%s'\n", prog,
				argv[optind - 1]);
			fprintf(stderr, "Try 'pmem2bench --help'.\n");
			return 2;
		}
	}

	const struct pmem2bench_suite *todo[64];
	int ntodo = 0;
	for (int i = optind; i < argc; i++) {
		const struct pmem2bench_suite *s = find_suite(argv[i]);
		if (!s) {
			fprintf(stderr, "%s: unknown suite '%s' (built:", prog,
				argv[i]);
			for (s = pmem2bench_suites; s->name; s++)
				fprintf(stderr, " %s", s->name);
			fprintf(stderr, ")\n");
			return 2;
		}
		if (ntodo < 64)
			todo[ntodo++] = s;
	}
	if (ntodo == 0)
		for (const struct pmem2bench_suite *s = pmem2bench_suites;
		     s->name && ntodo < 64; s++)
			todo[ntodo++] = s;
	if (ntodo == 0)
		fprintf(stderr, "%s: no benchmark suite was built\n", prog);

	int failed = 0;
	double t0 = bench_now();
	for (int pass = 0; pass < repeat; pass++)
		for (int i = 0; i < ntodo; i++)
			if (run_suite(todo[i]))
				failed++;
	if (repeat > 1)
		bench_fold_medians();
	fprintf(stderr, "%s: %d suite%s%s in %.1f s%s\n", prog, ntodo,
		ntodo == 1 ? "" : "s", repeat > 1 ? " (repeated)" : "",
		bench_now() - t0, failed ? " (some failed)" : "");

	/*
	 * The CPU by CPUID (the /proc/cpuinfo name in the table's header can
	 * be a hypervisor's generic one) and the libpmem2 tuning it gets.
	 */
	struct cpu_ident id;
	cpu_ident_get(&id);
	const char *from;
	const struct cpu_profile *prof = cpu_profile_choose(&from);
	printf("# cpu: %s (%s family %u model %u); memory-function profile: "
		"%s (from %s)\n", id.brand[0] ? id.brand : "unknown",
		id.vendor[0] ? id.vendor : "?", id.family, id.model,
		prof->name, from);
	/* which streaming copy the "limit" references used */
	bench_print_table(stdout);
	printf("# streaming-copy limit: %s\n", bench_stream_copy_variant());

	int ret = failed ? 1 : 0;
	if (csv && bench_write_csv(csv)) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, csv,
			strerror(errno));
		ret = 1;
	}
	if (json && bench_write_json(json)) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, json,
			strerror(errno));
		ret = 1;
	}
	if (plot && plot_write(plot)) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, plot,
			strerror(errno));
		ret = 1;
	}
	return ret;
}
