#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

#define WIDTH 1140
#define LABEL_X 16
#define PLOT_X0 190.0
#define PLOT_X1 700.0
#define TEXT_X 712
#define ROW_H 30
#define TITLE_H 34
#define AXIS_H 34
#define TOP 64

static void put_escaped(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, fp);
		}
	}
}

struct scale {
	double lo, hi;   /* log10 of the axis ends, in ms */
};

static double xpos(const struct scale *sc, double ms)
{
	double v = log10(ms > 0 ? ms : pow(10, sc->lo));

	if (v < sc->lo)
		v = sc->lo;
	if (v > sc->hi)
		v = sc->hi;
	return PLOT_X0 + (v - sc->lo) / (sc->hi - sc->lo) * (PLOT_X1 - PLOT_X0);
}

static void fmt_ms(char *buf, size_t size, double ms)
{
	if (ms >= 1000)
		snprintf(buf, size, "%.2f s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, size, "%.0f ms", ms);
	else
		snprintf(buf, size, "%.2f ms", ms);
}

static void axis(FILE *fp, const struct scale *sc, int y_top, int y_axis)
{
	int e;

	fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", PLOT_X0, y_axis,
		PLOT_X1, y_axis);
	for (e = (int)sc->lo; e <= (int)sc->hi; e++) {
		static const double steps[] = { 1, 2, 5 };
		size_t k;

		for (k = 0; k < 3 && (e < (int)sc->hi || k == 0); k++) {
			double v = steps[k] * pow(10, e), x = xpos(sc, v);
			char label[32];

			fmt_ms(label, sizeof(label), v);
			fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e7eb\"/>\n", x, y_top,
				x, y_axis);
			fprintf(fp, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
				x, y_axis + 15, label);
		}
	}
}

/* A log scale from the fastest minimum to the slowest P99 of the rows that kept any iteration. */
static void fit_scale(struct scale *sc, const struct tool_bench_row *rows, size_t n_rows)
{
	double lo = 0, hi = 0;
	size_t r;
	int have = 0;

	for (r = 0; r < n_rows; r++) {
		const struct tool_bench_stats *s = &rows[r].stats;

		if (!s->kept)
			continue;
		if (!have || s->min_ms < lo)
			lo = s->min_ms;
		if (!have || s->p99_ms > hi)
			hi = s->p99_ms;
		have = 1;
	}
	if (have) {
		sc->lo = floor(log10(lo > 0.001 ? lo : 0.001));
		sc->hi = ceil(log10(hi > 0.001 ? hi : 0.001));
		if (sc->hi <= sc->lo)
			sc->hi = sc->lo + 1;
	}
}

static void write_head(FILE *fp, int height, const struct tool_bench_config *config)
{
	fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
		WIDTH, height, WIDTH, height);
	fputs("<text x=\"16\" y=\"28\" font-size=\"18\" font-weight=\"bold\" fill=\"#111\">Time to interactive: ", fp);
	put_escaped(fp, config->command);
	fprintf(fp, " (%zu iterations per row)</text>\n", config->n);
	fputs("<text x=\"16\" y=\"48\" font-size=\"12\" fill=\"#555\">bar: median; whisker: to P95 (thick) and P99 (cap); "
	      "log scale; after trimming the fastest and slowest 5% of successes. Grey rows are baselines.</text>\n", fp);
}

/* The bar, whiskers and figures of a row that kept iterations, centred on cy. */
static void write_bar(FILE *fp, const struct scale *sc, const struct tool_bench_row *row, const char *color, double cy)
{
	const struct tool_bench_stats *s = &row->stats;
	double xm = xpos(sc, s->median_ms), x95 = xpos(sc, s->p95_ms), x99 = xpos(sc, s->p99_ms);
	char med[32], p95[32], p99[32];

	fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"%s\"><title>",
		PLOT_X0, cy - 8, xm - PLOT_X0 > 1 ? xm - PLOT_X0 : 1, color);
	put_escaped(fp, row->target->name);
	fprintf(fp, " %s: median %.3f ms, P95 %.3f ms, P99 %.3f ms</title></rect>\n",
		tool_bench_mode_name(row->mode), s->median_ms, s->p95_ms, s->p99_ms);
	fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" stroke-width=\"3\"/>\n",
		xm, cy, x95, cy);
	fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" stroke-width=\"1\"/>\n",
		x95, cy, x99, cy);
	fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" stroke-width=\"1.5\"/>\n",
		x99, cy - 6, x99, cy + 6);
	fmt_ms(med, sizeof(med), s->median_ms);
	fmt_ms(p95, sizeof(p95), s->p95_ms);
	fmt_ms(p99, sizeof(p99), s->p99_ms);
	fprintf(fp, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">%s · P95 %s · P99 %s · %.0f%% ok · score %.1f</text>\n",
		TEXT_X, cy + 4, med, p95, p99, s->success_rate * 100, s->score);
}

static void write_row(FILE *fp, const struct scale *sc, const struct tool_bench_row *row, int y)
{
	int base = strcmp(row->target->kind, "baseline") == 0;
	double cy = y + ROW_H / 2.0;

	fprintf(fp, "<text x=\"%d\" y=\"%.1f\" font-size=\"13\" fill=\"#111\">", LABEL_X, cy + 4);
	put_escaped(fp, row->target->name);
	if (base)
		fputs(" (baseline)", fp);
	fputs("</text>\n", fp);
	if (row->stats.kept)
		write_bar(fp, sc, row, base ? "#9ca3af" : "#2563eb", cy);
	else
		fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#b91c1c\">no successful iteration (0 of %zu)</text>\n",
			PLOT_X0, cy + 4, row->stats.n);
}

/* The section of mode m from y down: its title, its rows and an axis. Returns the y below it. */
static int write_mode(FILE *fp, const struct scale *sc, const struct tool_bench_row *rows, size_t n_rows, int m, int y)
{
	size_t r;
	int y_top;

	fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">%s</text>\n",
		LABEL_X, y + 20, tool_bench_mode_name((enum tool_bench_mode)m));
	y += TITLE_H;
	y_top = y;
	for (r = 0; r < n_rows; r++) {
		if ((int)rows[r].mode != m)
			continue;
		write_row(fp, sc, &rows[r], y);
		y += ROW_H;
	}
	axis(fp, sc, y_top, y);
	return y + AXIS_H;
}

int tool_bench_svg_write(FILE *fp, const struct tool_bench_row *rows, size_t n_rows,
			  const struct tool_bench_config *config)
{
	struct scale sc = { 0, 1 };
	size_t r, rows_in[TOOL_BENCH_N_MODES] = { 0 };
	int m, y, height = TOP + 20;

	for (r = 0; r < n_rows; r++)
		rows_in[rows[r].mode]++;
	fit_scale(&sc, rows, n_rows);
	for (m = 0; m < TOOL_BENCH_N_MODES; m++)
		if (rows_in[m])
			height += TITLE_H + (int)rows_in[m] * ROW_H + AXIS_H;
	write_head(fp, height, config);
	y = TOP;
	for (m = 0; m < TOOL_BENCH_N_MODES; m++)
		if (rows_in[m])
			y = write_mode(fp, &sc, rows, n_rows, m, y);
	fputs("</svg>\n", fp);
	return ferror(fp) ? -1 : 0;
}
