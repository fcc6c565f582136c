/*
 * bench_churn.c: 'churn' -- delete a large share of the rows + VACUUM +
 * reinsert them, then rounds of the same with a smaller share; every spec
 * deletes the same rows (one seed), and the exact answers of each live set
 * are computed once.  Per step: seconds, rows/s, index and table size,
 * recall against the rows alive; at the end a side-by-side table.
 */
#include "vecbench.h"

#include <stdlib.h>
#include <string.h>

ChurnSummary g_last_churn;

typedef struct ChurnStep
{
	int			kind;			/* CHURN_BUILD, CHURN_DELETE (delete + VACUUM), CHURN_REINSERT */
	int			round;			/* 0: the first (large) delete and its reinsert; 1..: cycles */
	char		name[48];
	double		frac;			/* share of the live rows deleted */
	long		rows;			/* deleted or reinserted */
	long		live;			/* rows alive afterwards */
	double		seconds;		/* build, DELETE statements or reinsert */
	double		vacuum_s;
	long long	index_bytes,
				table_bytes;
	WriteRecall wr;
} ChurnStep;

#define CHURN_BUILD 0
#define CHURN_DELETE 1
#define CHURN_REINSERT 2
#define CHURN_MAXCYC 64
#define CHURN_MAXSTEPS (2 + 2 * CHURN_MAXCYC)

/* the exact answers of a step: the live sets are the same for every spec (one seed), computed once */
typedef struct ChurnGt
{
	uint64_t	hash;
	int			have;
	GroundTruth gt;
} ChurnGt;

static const char *const churn_kind[] = {"build", "delete_vacuum", "reinsert"};

static double
churn_recall_value(const QueryResult *q)
{
	return O.k >= 10 ? q->recall10 : q->recall1;
}

/* live rows, index and table size after a step */
static void
churn_sizes(PGconn *c, const char *table, const char *index, const LiveSet *L, ChurnStep *st)
{
	st->live = live_count(L);
	st->index_bytes = index_exists(c, index) ? db_int(c, "SELECT pg_relation_size('%s')", index) : 0;
	st->table_bytes = db_int(c, "SELECT pg_table_size('%s')", table);
}

/* recall after a step against the exact answer of the rows alive (computed once per live set) */
static void
churn_recall(const Dataset *ds, const Spec *s, const char *table, const LiveSet *L, int nq, ChurnGt *cg,
			 ChurnStep *st)
{
	uint64_t	h = live_hash(L);

	if (!cg->have || cg->hash != h)
	{
		if (cg->have)
			gt_free(&cg->gt);
		live_gt(ds, L, nq, &cg->gt);
		cg->hash = h;
		cg->have = 1;
		if (!O.quiet)
			fprintf(stderr, "ground truth of %ld live rows, %d queries: %.1f s\n", st->live, nq, cg->gt.seconds);
	}
	recall_vs_gt(ds, s, table, &cg->gt, nq, &st->wr, st->name);
}

static void
json_churn_step(Json *j, const ChurnStep *st)
{
	j_obj(j, NULL);
	j_str(j, "step", st->name);
	j_str(j, "kind", churn_kind[st->kind]);
	j_int(j, "round", st->round);
	if (st->kind != CHURN_BUILD)
	{
		j_num(j, "fraction", st->frac);
		j_int(j, "rows", st->rows);
	}
	if (st->kind == CHURN_BUILD)
		j_num(j, "build_seconds", st->seconds);
	else if (st->kind == CHURN_DELETE)
	{
		j_num(j, "delete_seconds", st->seconds);
		j_num(j, "vacuum_seconds", st->vacuum_s);
	}
	else
	{
		j_num(j, "seconds", st->seconds);
		j_num(j, "rows_per_second", rows_per_s(st->rows, st->seconds));
		j_int(j, "rows_per_commit", O.reinsert_batch);
	}
	j_int(j, "live_rows", st->live);
	j_int(j, "index_bytes", st->index_bytes);
	j_int(j, "table_bytes", st->table_bytes);
	json_write_recall(j, "recall", &st->wr);
	j_end(j);
}

/* the steps of one spec on its work table; returns the number of steps */
static int
churn_spec(PGconn *c, const Dataset *ds, const Spec *s, int ncyc, int nq, ChurnGt *gtc, ChurnStep *st,
		   BuildResult *br)
{
	char		wt[300],
				widx[200];
	LiveSet		L;
	Rng			rng;
	int64_t		next_id = ds->n;
	int			round,
				ns = 0,
				i,
				v;
	Json		j;

	ensure_spec_tables(c, ds, s);
	work_table_names(s, "c", wt, sizeof(wt), widx, sizeof(widx));
	printf("== churn: %s on %s (copy of %s): delete %g%% + VACUUM + reinsert, then %d x (delete %g%% + "
		   "VACUUM + reinsert); recall on %d queries against the rows alive\n", s->label, wt, s->table,
		   O.delete_frac * 100, ncyc, O.cycle_frac * 100, nq);
	work_table(c, ds, s, wt, widx, br);
	live_init(&L, ds->n);

	st[ns].kind = CHURN_BUILD;
	snprintf(st[ns].name, sizeof(st[ns].name), "build");
	st[ns].seconds = br->seconds;
	churn_sizes(c, wt, widx, &L, &st[ns]);
	printf("  %-24s %ld rows: index %.1f MB, table %.1f MB\n", st[ns].name, st[ns].live,
		   st[ns].index_bytes / 1048576.0, st[ns].table_bytes / 1048576.0);
	churn_recall(ds, s, wt, &L, nq, &gtc[ns], &st[ns]);
	ns++;

	/* the same seed for every spec: each deletes the same rows, so the results are comparable */
	rng_seed(&rng, O.seed, 78, 0);
	for (round = 0; round <= ncyc; round++)
	{
		double		frac = round == 0 ? O.delete_frac : O.cycle_frac;
		long		m = (long) (frac * live_count(&L)),
					got;
		int64_t    *ids = xmalloc(sizeof(int64_t) * (m + 1));
		const float **vecs = xmalloc(sizeof(float *) * (m + 1));
		ChurnStep  *d = &st[ns],
				   *r = &st[ns + 1];
		char		rp[16] = "";

		if (round > 0)
			snprintf(rp, sizeof(rp), "%d: ", round);

		/* delete + VACUUM */
		got = pick_live(&L, &rng, m, ids, vecs, ds);
		d->kind = CHURN_DELETE;
		d->round = round;
		d->frac = frac;
		d->rows = got;
		snprintf(d->name, sizeof(d->name), "%sdelete %g%% + VACUUM", rp, frac * 100);
		d->seconds = delete_ids(c, wt, ids, got, O.delete_batch);
		d->vacuum_s = timed_vacuum(c, wt);
		churn_sizes(c, wt, widx, &L, d);
		printf("  %-24s %ld rows deleted in %.2f s, VACUUM %.2f s: index %.1f MB, table %.1f MB\n", d->name,
			   got, d->seconds, d->vacuum_s, d->index_bytes / 1048576.0, d->table_bytes / 1048576.0);
		churn_recall(ds, s, wt, &L, nq, &gtc[ns], d);

		/* reinsert the deleted vectors (new ids), one session */
		r->kind = CHURN_REINSERT;
		r->round = round;
		r->frac = frac;
		r->rows = got;
		snprintf(r->name, sizeof(r->name), "%sreinsert %ld", rp, got);
		r->seconds = reinsert_rows(c, ds, s, wt, vecs, got, O.reinsert_batch, &next_id, &L, "reinsert");
		churn_sizes(c, wt, widx, &L, r);
		printf("  %-24s %ld rows in %.2f s = %.1f rows/s (%d per commit): index %.1f MB, table %.1f MB\n",
			   r->name, got, r->seconds, rows_per_s(got, r->seconds), O.reinsert_batch,
			   r->index_bytes / 1048576.0, r->table_bytes / 1048576.0);
		churn_recall(ds, s, wt, &L, nq, &gtc[ns + 1], r);
		ns += 2;
		free(ids);
		free(vecs);
	}

	g_last_churn.min_recall10 = 2;
	g_last_churn.max_recall10 = -1;
	for (i = 0; i < ns; i++)
		for (v = 0; v < st[i].wr.n; v++)
		{
			double		x = st[i].wr.q[v].recall10;

			if (x < g_last_churn.min_recall10)
				g_last_churn.min_recall10 = x;
			if (x > g_last_churn.max_recall10)
				g_last_churn.max_recall10 = x;
		}
	g_last_churn.live_end = st[ns - 1].live;

	meta_refresh_extensions(c);
	json_run_begin(&j, "churn", ds, s);
	j_str(&j, "table", wt);
	j_int(&j, "queries", nq);
	j_obj(&j, "build");
	json_build(&j, br);
	j_end(&j);
	j_arr(&j, "steps");
	for (i = 0; i < ns; i++)
		json_churn_step(&j, &st[i]);
	j_end(&j);
	json_run_end(&j);
	live_free(&L);
	if (!O.force)
		db_exec(c, "DROP TABLE IF EXISTS %s", wt);
	return ns;
}

/* side by side: one row per step, for each spec its seconds, rows/s, index MB and recall */
static void
churn_table(const Dataset *ds, const Spec *specs, int nspec, ChurnStep *const *steps, int nsteps,
			const BuildResult *brs, int nq)
{
	char		rk[8];
	int			si,
				i,
				v;

	snprintf(rk, sizeof(rk), "R@%d", O.k >= 10 ? 10 : 1);
	printf("\nchurn: %s, n %ld, dim %d, %s, WITH (%s) unless the spec says otherwise; %s over %d queries "
		   "against the exact answer of the rows alive at each step\n", ds->name, ds->n, ds->dim,
		   metric_names[ds->metric], O.with, rk, nq);
	for (si = 0; si < nspec; si++)
		printf("  %s: USING %s (%s)%s%s, build %.2f s\n", specs[si].label, specs[si].am, specs[si].ops,
			   specs[si].with[0] ? " WITH " : "", specs[si].with, brs[si].seconds);
	printf("\n| step | live rows |");
	for (si = 0; si < nspec; si++)
	{
		printf(" %s s | %s rows/s | %s index MB |", specs[si].label, specs[si].label, specs[si].label);
		for (v = 0; v < steps[si][0].wr.n; v++)
			printf(" %s %s (%s) |", specs[si].label, rk, steps[si][0].wr.q[v].value[0] ?
				   steps[si][0].wr.q[v].value : "exact");
	}
	printf("\n|---|---:|");
	for (si = 0; si < nspec; si++)
	{
		printf("---:|---:|---:|");
		for (v = 0; v < steps[si][0].wr.n; v++)
			printf("---:|");
	}
	printf("\n");
	for (i = 0; i < nsteps; i++)
	{
		printf("| %s | %ld |", steps[0][i].name, steps[0][i].live);
		for (si = 0; si < nspec; si++)
		{
			const ChurnStep *t = &steps[si][i];

			if (t->kind == CHURN_DELETE)
				printf(" %.2f | - |", t->vacuum_s);
			else if (t->kind == CHURN_REINSERT)
				printf(" %.2f | %.1f |", t->seconds, rows_per_s(t->rows, t->seconds));
			else
				printf(" %.2f | - |", t->seconds);
			printf(" %.1f |", t->index_bytes / 1048576.0);
			for (v = 0; v < t->wr.n; v++)
				printf(" %.4f |", churn_recall_value(&t->wr.q[v]));
		}
		printf("\n");
	}
	printf("\ns: CREATE INDEX seconds (build), VACUUM seconds (delete + VACUUM; the DELETE statements are in the "
		   "lines above and the JSON), reinsert seconds (reinsert, %d rows per commit, one session)\n",
		   O.reinsert_batch);
}

int
cmd_churn(void)
{
	Run			r;
	int			si,
				i,
				nsteps = 0,
				ncyc = O.cycles < CHURN_MAXCYC ? O.cycles : CHURN_MAXCYC,
				nq;
	ChurnStep  *steps[MAXSPECS];
	ChurnGt    *gtc = xcalloc(CHURN_MAXSTEPS, sizeof(ChurnGt));
	BuildResult brs[MAXSPECS];

	if (O.delete_frac < 0 || O.delete_frac >= 1 || O.cycle_frac < 0 || O.cycle_frac >= 1)
		die("churn: --delete-frac and --cycle-frac must be within [0, 1)");
	if (ncyc < 0)
		ncyc = 0;
	run_data(&r, 0);
	if (r.ds.streamed)
		die("churn: not for a streamed data set (it reinserts the deleted rows' vectors from memory and works "
			"on a copy of the table with a second index; --no-stream holds the base vectors in memory)");
	nq = O.write_nq < r.ds.nq ? O.write_nq : r.ds.nq;
	if (nq < 1)
		die("churn: --write-nq must be at least 1");
	run_connect(&r);
	for (si = 0; si < r.nspec; si++)
	{
		steps[si] = xcalloc(CHURN_MAXSTEPS, sizeof(ChurnStep));
		nsteps = churn_spec(r.c, &r.ds, &r.specs[si], ncyc, nq, gtc, steps[si], &brs[si]);
	}
	churn_table(&r.ds, r.specs, r.nspec, steps, nsteps, brs, nq);
	for (si = 0; si < r.nspec; si++)
		free(steps[si]);
	for (i = 0; i < CHURN_MAXSTEPS; i++)
		if (gtc[i].have)
			gt_free(&gtc[i].gt);
	free(gtc);
	end_run(&r);
	return 0;
}
