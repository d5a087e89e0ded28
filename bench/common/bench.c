/* SPDX-License-Identifier: BSD-3-Clause */
/* bench.c -- rows, tables, CSV/JSON output and the streaming-copy limit. */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/cpu.h"
#include "common/nt_stream.h"

double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
bench_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int quick_forced;

void
bench_set_quick(int on)
{
	quick_forced = on;
}

int
bench_quick(void)
{
	if (quick_forced)
		return 1;
	const char *e = getenv("PMEM2_BENCH_QUICK");
	return e && *e && strcmp(e, "0") != 0;
}

/* ---- rows ---- */

static struct bench_rowdata *rows;
static int nrows, cap;

static char *
dup_or_empty(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d) {
		perror("bench: strdup");
		exit(1);
	}
	return d;
}

void
bench_row(const char *suite, const char *name, double value, const char *unit,
	const char *ref_name, double ref_value, int higher_is_better)
{
	if (nrows == cap) {
		int ncap = cap ? cap * 2 : 64;
		struct bench_rowdata *n = realloc(rows, sizeof(*n) * (size_t)ncap);
		if (!n) {
			perror("bench: realloc");
			exit(1);
		}
		rows = n;
		cap = ncap;
	}
	struct bench_rowdata *r = &rows[nrows++];
	r->suite = dup_or_empty(suite);
	r->name = dup_or_empty(name);
	r->value = value;
	r->unit = dup_or_empty(unit);
	int has_ref = ref_name && *ref_name && ref_value > 0;
	r->ref_name = dup_or_empty(has_ref ? ref_name : "");
	r->ref_value = has_ref ? ref_value : 0;
	r->higher_is_better = higher_is_better;
	r->ratio = 0;
	if (has_ref && value > 0)
		r->ratio = higher_is_better ? value / ref_value : ref_value / value;
}

int
bench_nrows(void)
{
	return nrows;
}

const struct bench_rowdata *
bench_get_row(int i)
{
	return (i >= 0 && i < nrows) ? &rows[i] : NULL;
}

void
bench_reset(void)
{
	for (int i = 0; i < nrows; i++) {
		free((char *)rows[i].suite);
		free((char *)rows[i].name);
		free((char *)rows[i].unit);
		free((char *)rows[i].ref_name);
	}
	free(rows);
	rows = NULL;
	nrows = cap = 0;
}

void
bench_fold_medians(void)
{
	int n = nrows, out = 0;
	double *v = malloc(sizeof(double) * (size_t)(3 * n + 1));
	char *used = calloc((size_t)n + 1, 1);
	if (!v || !used) {
		perror("bench: malloc");
		exit(1);
	}
	double *rv = v + n, *rr = v + 2 * n;
	for (int i = 0; i < n; i++) {
		if (used[i])
			continue;
		int k = 0, kr = 0;
		for (int j = i; j < n; j++) {
			if (used[j] || strcmp(rows[j].suite, rows[i].suite) ||
					strcmp(rows[j].name, rows[i].name))
				continue;
			used[j] = 1;
			v[k++] = rows[j].value;
			if (rows[j].ratio > 0) {
				rv[kr] = rows[j].ref_value;
				rr[kr++] = rows[j].ratio;
			}
			if (j != i) {
				free((char *)rows[j].suite);
				free((char *)rows[j].name);
				free((char *)rows[j].unit);
				free((char *)rows[j].ref_name);
			}
		}
		struct bench_rowdata r = rows[i];
		r.value = bench_median(v, k);
		r.ref_value = kr ? bench_median(rv, kr) : 0;
		r.ratio = kr ? bench_median(rr, kr) : 0;
		rows[out++] = r;
	}
	nrows = out;
	free(v);
	free(used);
}

/* ---- machine and date ---- */

const char *
bench_date(void)
{
	static char buf[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

const char *
bench_machine(void)
{
	static char buf[320];
	if (buf[0])
		return buf;
	char model[200] = "unknown cpu";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *p = strchr(line, ':');
				if (p) {
					p++;
					while (*p == ' ' || *p == '\t')
						p++;
					p[strcspn(p, "\n")] = '\0';
					snprintf(model, sizeof(model), "%s", p);
				}
				break;
			}
		}
		fclose(f);
	}
	struct utsname u;
	const char *kernel = uname(&u) == 0 ? u.release : "?";
	snprintf(buf, sizeof(buf), "%s, %ld cpus, Linux %s", model,
		sysconf(_SC_NPROCESSORS_ONLN), kernel);
	return buf;
}

/* ---- table ---- */

static void
fmt_value(char *buf, size_t n, double v)
{
	double a = v < 0 ? -v : v;
	if (v == 0)
		snprintf(buf, n, "0");
	else if (a >= 1e6)
		snprintf(buf, n, "%.4g", v);
	else if (a >= 100)
		snprintf(buf, n, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, n, "%.3f", v);
	else
		snprintf(buf, n, "%.4g", v);
}

static void
fmt_ratio(char *buf, size_t n, const struct bench_rowdata *r)
{
	if (r->ratio > 0)
		snprintf(buf, n, "%.2fx", r->ratio);
	else
		snprintf(buf, n, "-");
}

#define MAXW(w, s) do { int l_ = (int)strlen(s); if (l_ > (w)) (w) = l_; } while (0)

/* A row's value, reference value and ratio, as the table prints them. */
static void
fmt_cells(const struct bench_rowdata *r, char v[64], char rv[64], char ra[32])
{
	fmt_value(v, 64, r->value);
	if (r->ref_value > 0)
		fmt_value(rv, 64, r->ref_value);
	else
		snprintf(rv, 64, "-");
	fmt_ratio(ra, 32, r);
}

void
bench_print_table(FILE *f)
{
	static const char *hdr[] = {"suite", "benchmark", "value", "unit",
		"reference", "ref value", "ratio"};
	int w[7];
	for (int c = 0; c < 7; c++)
		w[c] = (int)strlen(hdr[c]);
	char v[64], rv[64], ra[32];
	for (int i = 0; i < nrows; i++) {
		const struct bench_rowdata *r = &rows[i];
		fmt_cells(r, v, rv, ra);
		MAXW(w[0], r->suite);
		MAXW(w[1], r->name);
		MAXW(w[2], v);
		MAXW(w[3], r->unit);
		MAXW(w[4], *r->ref_name ? r->ref_name : "-");
		MAXW(w[5], rv);
		MAXW(w[6], ra);
	}
	fprintf(f, "# %s; %s\n", bench_date(), bench_machine());
	fprintf(f, "# ratio > 1: the value beats its reference (higher or lower is better per row)\n");
	fprintf(f, "%-*s  %-*s  %*s  %-*s  %-*s  %*s  %*s\n", w[0], hdr[0],
		w[1], hdr[1], w[2], hdr[2], w[3], hdr[3], w[4], hdr[4],
		w[5], hdr[5], w[6], hdr[6]);
	int total = w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + 12;
	for (int i = 0; i < total; i++)
		fputc('-', f);
	fputc('\n', f);
	for (int i = 0; i < nrows; i++) {
		const struct bench_rowdata *r = &rows[i];
		fmt_cells(r, v, rv, ra);
		fprintf(f, "%-*s  %-*s  %*s  %-*s  %-*s  %*s  %*s\n",
			w[0], r->suite, w[1], r->name, w[2], v, w[3], r->unit,
			w[4], *r->ref_name ? r->ref_name : "-", w[5], rv,
			w[6], ra);
	}
	fflush(f);
}

/* ---- CSV / JSON ---- */

static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int
close_checked(FILE *f)
{
	int err = ferror(f);
	if (fclose(f) != 0 || err) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int
bench_write_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "suite,name,value,unit,ref_name,ref_value,ratio,higher_is_better\n");
	for (int i = 0; i < nrows; i++) {
		const struct bench_rowdata *r = &rows[i];
		csv_field(f, r->suite);
		fputc(',', f);
		csv_field(f, r->name);
		fprintf(f, ",%.6g,", r->value);
		csv_field(f, r->unit);
		fputc(',', f);
		csv_field(f, r->ref_name);
		if (r->ref_value > 0)
			fprintf(f, ",%.6g", r->ref_value);
		else
			fputc(',', f);
		if (r->ratio > 0)
			fprintf(f, ",%.4f", r->ratio);
		else
			fputc(',', f);
		fprintf(f, ",%d\n", r->higher_is_better ? 1 : 0);
	}
	return close_checked(f);
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_num(FILE *f, double v)
{
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

int
bench_write_json(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\n  \"date\": ", f);
	json_str(f, bench_date());
	fputs(",\n  \"machine\": ", f);
	json_str(f, bench_machine());
	fprintf(f, ",\n  \"quick\": %s", bench_quick() ? "true" : "false");
	fputs(",\n  \"rows\": [", f);
	for (int i = 0; i < nrows; i++) {
		const struct bench_rowdata *r = &rows[i];
		fputs(i ? ",\n    {" : "\n    {", f);
		fputs("\"suite\": ", f);
		json_str(f, r->suite);
		fputs(", \"name\": ", f);
		json_str(f, r->name);
		fputs(", \"value\": ", f);
		json_num(f, r->value);
		fputs(", \"unit\": ", f);
		json_str(f, r->unit);
		fputs(", \"ref_name\": ", f);
		if (*r->ref_name)
			json_str(f, r->ref_name);
		else
			fputs("null", f);
		fputs(", \"ref_value\": ", f);
		if (r->ref_value > 0)
			json_num(f, r->ref_value);
		else
			fputs("null", f);
		fputs(", \"ratio\": ", f);
		if (r->ratio > 0)
			json_num(f, r->ratio);
		else
			fputs("null", f);
		fprintf(f, ", \"higher_is_better\": %s}",
			r->higher_is_better ? "true" : "false");
	}
	fputs(nrows ? "\n  ]\n}\n" : "]\n}\n", f);
	return close_checked(f);
}

/* ---- the streaming-copy limit ---- */

typedef bench_copy_fn stream_fn;

/*
 * The loops are the engine's (src/common/nt_stream.c, the threads mover's
 * and, through the same template, libpmem2's): len bytes, a multiple of
 * 256, both pointers 64-byte aligned, non-temporal stores, then a fence.
 */
static nt_copy_lines_fn Stream_lines;

static void
stream_lines(char *dst, const char *src, size_t len)
{
	Stream_lines(dst, src, len / CPU_CACHELINE);
	cpu_sfence();
}

static void
copy_plain(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
}

/* The start-up of src/common in the benchmarks (common/cpu.h). */
__attribute__((constructor)) void
lib_init(void)
{
	cpu_init();
	nt_stream_init();
}

static stream_fn
pick_stream(const char **name)
{
	/*
	 * The best set the CPU has, whatever PMEM_AVX512F/PMEM_AVX tell the
	 * libraries (the limit is the machine's); PMEM2_BENCH_STREAM names
	 * another (a testing aid).
	 */
	static const char *const Sets[] = { "avx512", "avx2", "sse2" };
	const char *force = getenv("PMEM2_BENCH_STREAM");
	nt_copy_lines_fn f = force ? nt_lines_find(force) : NULL;
	*name = force;
	for (size_t i = 0; f == NULL && i < sizeof(Sets) / sizeof(Sets[0]); i++)
		if ((f = nt_lines_find(Sets[i])) != NULL)
			*name = Sets[i];
	if (f == NULL) {
		*name = "memcpy";
		return copy_plain;
	}
	Stream_lines = f;
	return stream_lines;
}

bench_copy_fn
bench_stream_copy_fn(void)
{
	const char *n;
	return pick_stream(&n);
}

const char *
bench_stream_copy_variant(void)
{
	const char *n;
	pick_stream(&n);
	return n;
}

static size_t cached_bytes;
static double cached_gbs;

double
bench_stream_copy_gbs(size_t bytes)
{
	if (bytes == 0)
		bytes = (size_t)256 << 20;
	bytes = (bytes + 255) & ~(size_t)255;
	if (bytes == cached_bytes && cached_gbs > 0)
		return cached_gbs;

	const char *vname;
	stream_fn fn = pick_stream(&vname);
	/* slack past the end for the loops' prefetches (harmless anyway) */
	size_t maplen = bytes + 4096;
	char *src = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED) {
		perror("bench_stream_copy_gbs: mmap");
		exit(1);
	}
	/* fault every page in, outside the timed runs */
	memset(src, 0x5a, maplen);
	memset(dst, 0, maplen);
	fn(dst, src, bytes);	/* warm-up */

	int runs = bench_quick() ? 3 : 7;
	double gbs[7];
	for (int r = 0; r < runs; r++) {
		double t0 = bench_now();
		fn(dst, src, bytes);
		double t = bench_now() - t0;
		gbs[r] = (double)bytes / t / 1e9;
	}
	if (memcmp(dst, src, 4096) != 0 ||
	    memcmp(dst + bytes - 4096, src + bytes - 4096, 4096) != 0) {
		fprintf(stderr, "bench_stream_copy_gbs: %s copy is wrong\n", vname);
		exit(1);
	}
	munmap(src, maplen);
	munmap(dst, maplen);
	cached_bytes = bytes;
	cached_gbs = bench_median(gbs, runs);
	return cached_gbs;
}

/* ---- one CPU for a figure and its reference ---- */

static cpu_set_t Pin_saved;
static int Pin_active;

void
bench_pin_here(void)
{
	int cpu = sched_getcpu();
	if (cpu < 0 || Pin_active ||
			sched_getaffinity(0, sizeof(Pin_saved), &Pin_saved) != 0)
		return;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0)
		Pin_active = 1;
}

void
bench_unpin(void)
{
	if (Pin_active)
		sched_setaffinity(0, sizeof(Pin_saved), &Pin_saved);
	Pin_active = 0;
}

/* ---- a reference build over a pipe ---- */

int
bench_peer_start(struct bench_peer *p, const char *path, const char *arg)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (path == NULL || path[0] == '\0')
		return -1;
	int down[2], up[2];
	if (pipe(down) != 0)
		return -1;
	if (pipe(up) != 0) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);	/* a dead peer: EPIPE, not our death */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(down[0], 0);
		dup2(up[1], 1);
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		execl(path, path, "--serve", bench_quick() ? "--quick" : arg,
			bench_quick() ? arg : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	p->to = fdopen(down[1], "w");
	p->from = fdopen(up[0], "r");
	if (pid < 0 || !p->to || !p->from) {
		bench_peer_stop(p);
		return -1;
	}
	p->pid = (int)pid;
	return 0;
}

double
bench_peer_run(struct bench_peer *p, int i)
{
	double v;
	if (p->pid <= 0)
		return 0;
	if (fprintf(p->to, "%d\n", i) < 0 || fflush(p->to) != 0 ||
			fscanf(p->from, "%lf", &v) != 1) {
		fprintf(stderr, "bench: the reference build stopped answering; "
			"no reference figures from here on\n");
		bench_peer_stop(p);
		return 0;
	}
	return v;
}

void
bench_peer_stop(struct bench_peer *p)
{
	if (p->to)
		fclose(p->to);	/* end of input: the peer exits */
	if (p->from)
		fclose(p->from);
	if (p->pid > 0)
		waitpid((pid_t)p->pid, NULL, 0);
	p->to = p->from = NULL;
	p->pid = 0;
}

void
bench_peer_serve(double (*run)(int i, void *arg), void *arg)
{
	int i;
	while (scanf("%d", &i) == 1) {
		printf("%.6g\n", run(i, arg));
		fflush(stdout);
	}
}

/* ---- program options ---- */

int
bench_args(int argc, char *argv[])
{
	int serve = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			bench_set_quick(1);
		else if (strcmp(argv[i], "--serve") == 0)
			serve = 1;
	}
	return serve;
}

int
bench_run_alone(int argc, char *argv[], void (*suite)(void))
{
	bench_args(argc, argv);
	suite();
	bench_print_table(stdout);
	return 0;
}
