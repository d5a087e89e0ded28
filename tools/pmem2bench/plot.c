/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plot.c -- throughput against size, as SVG.
 *
 * A row takes part when its unit is a throughput (GB/s, MB/s) and its name
 * carries a size ("memcpy 4KiB flags 0", "64 MiB copy", "256B"). The size
 * (and a trailing " vs <reference>") is cut out of the name and what is
 * left, with the suite, names the curve; each reference of a curve becomes a
 * dashed curve of its own, "<curve> [<reference>]", so the figure shows ours
 * next to Debian's, glibc's or the streaming limit.
 *
 * gnuplot draws it when it is installed (PMEM2BENCH_NO_GNUPLOT=1 turns that
 * off); otherwise the small writer below does.
 */
#define _GNU_SOURCE
#include "plot.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_SERIES 32
#define MAX_POINTS 64

struct series {
	char name[160];
	int n;
	double x[MAX_POINTS], y[MAX_POINTS];
};

static struct series ser[MAX_SERIES];
static int nser;

/*
 * Finds "<digits>[ ]<unit>" with unit B, K, KB, KiB, M, MB, MiB, G, GB, GiB
 * as a word of its own. Returns the size and the span it covers.
 */
static double
find_size(const char *s, size_t *at, size_t *len)
{
	for (size_t i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]) ||
		    (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.')))
			continue;
		size_t j = i;
		double v = 0;
		while (isdigit((unsigned char)s[j]))
			v = v * 10 + (s[j++] - '0');
		size_t k = j;
		if (s[k] == ' ')
			k++;
		static const struct { const char *u; double m; } units[] = {
			{"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
			{"KB", 1024.0}, {"MB", 1048576.0}, {"GB", 1073741824.0},
			{"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0},
			{"k", 1024.0}, {"B", 1.0},
		};
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t ul = strlen(units[u].u);
			if (strncmp(s + k, units[u].u, ul) != 0)
				continue;
			char after = s[k + ul];
			if (isalnum((unsigned char)after) || after == '/')
				continue;
			*at = i;
			*len = k + ul - i;
			return v * units[u].m;
		}
	}
	return 0;
}

static struct series *
series_get(const char *name)
{
	for (int i = 0; i < nser; i++)
		if (strcmp(ser[i].name, name) == 0)
			return &ser[i];
	if (nser == MAX_SERIES)
		return NULL;
	struct series *s = &ser[nser++];
	snprintf(s->name, sizeof(s->name), "%.159s", name);
	s->n = 0;
	return s;
}

static void
series_add(const char *name, double x, double y)
{
	struct series *s = series_get(name);
	if (!s || s->n == MAX_POINTS || y <= 0)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->x[i] == x)
			return;	/* the same reference listed by several rows */
	int i = s->n++;
	while (i > 0 && s->x[i - 1] > x) {
		s->x[i] = s->x[i - 1];
		s->y[i] = s->y[i - 1];
		i--;
	}
	s->x[i] = x;
	s->y[i] = y;
}

/*
 * "suite: name" without the size and without a trailing " vs <reference>"
 * (rows that show one figure against several references are one curve),
 * spaces tidied.
 */
static void
series_name(char *out, size_t n, const char *suite, const char *name,
	size_t at, size_t len)
{
	char rest[200];
	snprintf(rest, sizeof(rest), "%.*s%.99s", (int)(at < 99 ? at : 99), name,
		name + at + len);
	char *vs = strstr(rest, " vs ");
	if (vs)
		*vs = '\0';
	char tidy[200];
	size_t o = 0;
	for (size_t i = 0; rest[i] && o + 1 < sizeof(tidy); i++) {
		if (rest[i] == ' ' && (o == 0 || tidy[o - 1] == ' '))
			continue;
		tidy[o++] = rest[i];
	}
	while (o > 0 && (tidy[o - 1] == ' ' || tidy[o - 1] == ','))
		o--;
	tidy[o] = '\0';
	snprintf(out, n, "%.60s: %.90s", suite, o ? tidy : "throughput");
}

static double
gbs_of(double v, const char *unit)
{
	if (strcmp(unit, "GB/s") == 0 || strcmp(unit, "GiB/s") == 0)
		return v;
	if (strcmp(unit, "MB/s") == 0 || strcmp(unit, "MiB/s") == 0)
		return v / 1000.0;
	return -1;
}

static void
collect(void)
{
	nser = 0;
	for (int i = 0; i < bench_nrows(); i++) {
		const struct bench_rowdata *r = bench_get_row(i);
		double y = gbs_of(r->value, r->unit);
		if (y < 0)
			continue;
		size_t at, len;
		double x = find_size(r->name, &at, &len);
		if (x <= 0)
			continue;
		char sn[160];
		series_name(sn, sizeof(sn), r->suite, r->name, at, len);
		series_add(sn, x, y);
		if (r->ref_value > 0 && *r->ref_name) {
			/* the reference of this curve, e.g. "... [glibc memcpy]" */
			char rn[160];
			snprintf(rn, sizeof(rn), "%.100s [%.50s]", sn, r->ref_name);
			series_add(rn, x, gbs_of(r->ref_value, r->unit));
		}
	}
	/* a single point is no curve: drop such series */
	int k = 0;
	for (int i = 0; i < nser; i++)
		if (ser[i].n >= 2)
			ser[k++] = ser[i];
	nser = k;
}

static void
size_label(char *buf, size_t n, double b)
{
	if (b >= 1073741824.0)
		snprintf(buf, n, "%gG", b / 1073741824.0);
	else if (b >= 1048576.0)
		snprintf(buf, n, "%gM", b / 1048576.0);
	else if (b >= 1024.0)
		snprintf(buf, n, "%gK", b / 1024.0);
	else
		snprintf(buf, n, "%gB", b);
}

static void
xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

static int
svg_write(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const double W = 1040, H = 520, L = 70, R = 380, T = 40, B = 60;
	const double pw = W - L - R, ph = H - T - B;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
		"viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		W, H, W, H);
	fprintf(f, "<text x=\"%g\" y=\"22\" font-size=\"15\">pmem2bench: "
		"throughput against size (", L);
	xml_text(f, bench_date());
	fprintf(f, ")</text>\n");

	if (nser == 0) {
		fprintf(f, "<text x=\"%g\" y=\"%g\">no throughput-by-size rows "
			"in this run</text>\n</svg>\n", L, T + ph / 2);
		int err = ferror(f);
		return fclose(f) || err ? -1 : 0;
	}

	double xmin = INFINITY, xmax = 0, ymax = 0;
	for (int i = 0; i < nser; i++)
		for (int j = 0; j < ser[i].n; j++) {
			xmin = fmin(xmin, ser[i].x[j]);
			xmax = fmax(xmax, ser[i].x[j]);
			ymax = fmax(ymax, ser[i].y[j]);
		}
	double lx0 = floor(log2(xmin)), lx1 = ceil(log2(xmax));
	if (lx1 <= lx0)
		lx1 = lx0 + 1;
	/* a round y step: 1, 2 or 5 times a power of ten, about 6 ticks */
	double raw = ymax / 6, mag = pow(10, floor(log10(raw > 0 ? raw : 1)));
	double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag :
		raw / mag < 7.5 ? 5 * mag : 10 * mag;
	double ytop = ceil(ymax / step) * step;
	if (ytop <= 0)
		ytop = 1;

#define PX(x) (L + (log2(x) - lx0) / (lx1 - lx0) * pw)
#define PY(y) (T + ph - (y) / ytop * ph)
	fprintf(f, "<g stroke=\"#ddd\" stroke-width=\"1\">\n");
	for (double y = 0; y <= ytop + step / 2; y += step)
		fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\"/>\n",
			L, PY(y), L + pw, PY(y));
	int xstep = (lx1 - lx0) > 16 ? 4 : (lx1 - lx0) > 8 ? 2 : 1;
	for (double lx = lx0; lx <= lx1; lx += xstep)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\"/>\n",
			PX(pow(2, lx)), T, PX(pow(2, lx)), T + ph);
	fprintf(f, "</g>\n");
	fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
		"fill=\"none\" stroke=\"black\"/>\n", L, T, pw, ph);
	for (double y = 0; y <= ytop + step / 2; y += step)
		fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			L - 6, PY(y) + 4, y);
	for (double lx = lx0; lx <= lx1; lx += xstep) {
		char lab[32];
		size_label(lab, sizeof(lab), pow(2, lx));
		fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
			PX(pow(2, lx)), T + ph + 16, lab);
	}
	fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">size (bytes, "
		"log scale)</text>\n", L + pw / 2, H - 18);
	fprintf(f, "<text transform=\"translate(18,%g) rotate(-90)\" "
		"text-anchor=\"middle\">GB/s</text>\n", T + ph / 2);

	for (int i = 0; i < nser; i++) {
		const char *c = colors[i % 10];
		int dashed = strchr(ser[i].name, '[') != NULL;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
			"points=\"", c, dashed ? " stroke-dasharray=\"6,4\"" : "");
		for (int j = 0; j < ser[i].n; j++)
			fprintf(f, "%s%.1f,%.1f", j ? " " : "", PX(ser[i].x[j]),
				PY(ser[i].y[j]));
		fprintf(f, "\"/>\n");
		for (int j = 0; j < ser[i].n; j++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
				PX(ser[i].x[j]), PY(ser[i].y[j]), c);
		double ly = T + 10 + i * 18;
		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" "
			"stroke-width=\"2\"%s/>\n", L + pw + 12, ly, L + pw + 36, ly,
			c, dashed ? " stroke-dasharray=\"6,4\"" : "");
		fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\">", L + pw + 42,
			ly + 4);
		xml_text(f, ser[i].name);
		fprintf(f, "</text>\n");
	}
#undef PX
#undef PY
	fprintf(f, "</svg>\n");
	int err = ferror(f);
	if (fclose(f) || err) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

static int
have_gnuplot(void)
{
	const char *no = getenv("PMEM2BENCH_NO_GNUPLOT");
	if (no && *no && strcmp(no, "0") != 0)
		return 0;
	const char *path = getenv("PATH");
	if (!path)
		return 0;
	char *dup = strdup(path), *save = NULL;
	int found = 0;
	for (char *d = strtok_r(dup, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/gnuplot", *d ? d : ".");
		found = access(p, X_OK) == 0;
	}
	free(dup);
	return found;
}

static void
gp_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Returns 0 when gnuplot wrote the file, -1 to fall back. */
static int
gnuplot_write(const char *path)
{
	char dir[] = "/tmp/pmem2bench-plot-XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	char script[128], data[128];
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	FILE *d = fopen(data, "w");
	FILE *s = d ? fopen(script, "w") : NULL;
	int ret = -1;
	if (!d || !s)
		goto out;
	for (int i = 0; i < nser; i++) {
		for (int j = 0; j < ser[i].n; j++)
			fprintf(d, "%.17g %.17g\n", ser[i].x[j], ser[i].y[j]);
		fprintf(d, "\n\n");
	}
	fclose(d);
	d = NULL;
	fprintf(s, "set terminal svg size 1040,520 dynamic enhanced font 'sans,11' background rgb 'white'\n");
	fprintf(s, "set output ");
	gp_quote(s, path);
	fprintf(s, "\nset title ");
	char title[128];
	snprintf(title, sizeof(title), "pmem2bench: throughput against size (%s)",
		bench_date());
	gp_quote(s, title);
	fprintf(s, " noenhanced\nset logscale x 2\nset xlabel 'size (bytes)'\n"
		"set ylabel 'GB/s'\nset yrange [0:*]\nset grid\n"
		"set key outside right top noenhanced\n"
		"set format x '%%.0b%%BB'\n");
	fprintf(s, "plot ");
	for (int i = 0; i < nser; i++) {
		fprintf(s, "%s", i ? ", \\\n  " : "");
		gp_quote(s, data);
		fprintf(s, " index %d with linespoints lw 2 %stitle ", i,
			strchr(ser[i].name, '[') ? "dt 2 " : "");
		gp_quote(s, ser[i].name);
	}
	fprintf(s, "\n");
	fclose(s);
	s = NULL;

	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0 && access(path, R_OK) == 0)
		ret = 0;
out:
	if (d)
		fclose(d);
	if (s)
		fclose(s);
	unlink(script);
	unlink(data);
	rmdir(dir);
	return ret;
}

int
plot_write(const char *path)
{
	collect();
	if (nser > 0 && have_gnuplot() && gnuplot_write(path) == 0)
		return 0;
	return svg_write(path);
}
