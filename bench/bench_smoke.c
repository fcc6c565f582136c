/*
 * bench_smoke.c: 'vecbench smoke', the CI check of the tool itself (a few
 * seconds, never a timing): known answers of recall and brute force, a
 * deterministic generator, the ground-truth cache, a binary COPY round trip,
 * exact scans through the server giving recall 1 (L2, cosine, inner
 * product), a streamed data set equal to the one held whole (keys, ground
 * truth, exact answers over the rows alive, a resumed load), then every
 * subcommand on a few hundred synthetic vectors (soak for a few seconds:
 * report lines, live rows constant, recall 1 with exact scans), and the JSON
 * lines they wrote.  Prints 'vecbench smoke: ok' or FAIL lines.
 */
#include "vecbench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_smoke_fail = 0;

static void check(int cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* count and report a failed check */
static void
check(int cond, const char *fmt,...)
{
	va_list		ap;

	if (cond)
		return;
	g_smoke_fail++;
	fflush(stdout);
	fprintf(stderr, "vecbench smoke: FAIL ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void
smoke_recall_unit(void)
{
	int64_t		ids[GT_K],
				res[GT_K];
	float		d[GT_K];
	int			i;
	double		r;

	for (i = 0; i < GT_K; i++)
	{
		ids[i] = 1000 + i;
		d[i] = (float) i;
		res[i] = ids[i];
	}
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(r == 1.0, "recall of the exact list is %g, expected 1", r);
	r = recall_at(res, 100, ids, d, GT_K, 100);
	check(r == 1.0, "recall@100 of the exact list is %g, expected 1", r);
	res[7] = -1;
	res[8] = 5;
	res[9] = 1000 + 50;			/* in the top 100 but not the top 10 */
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.7) < 1e-12, "recall with 3 of 10 wrong is %g, expected 0.7", r);
	r = recall_at(res, 10, ids, d, GT_K, 1);
	check(r == 1.0, "recall@1 is %g, expected 1", r);
	for (i = 0; i < 10; i++)
		res[i] = ids[0];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.1) < 1e-12, "recall of a list with one id repeated is %g, expected 0.1", r);
	r = recall_at(res, 3, ids, d, GT_K, 10);
	check(fabs(r - 0.1) < 1e-12, "recall of a short list is %g, expected 0.1", r);
	/* ties: 9th and 10th and 11th neighbours equally distant: any of them counts */
	for (i = 0; i < GT_K; i++)
		res[i] = ids[i];
	d[8] = d[9] = d[10] = 8.0f;
	res[9] = ids[10];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(r == 1.0, "recall with a tied neighbour is %g, expected 1", r);
	res[9] = ids[11];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.9) < 1e-12, "recall with an untied 12th neighbour is %g, expected 0.9", r);
	/* brute force against a hand-made case: 1-D points 0..9, query 2.2 */
	{
		float		base[10],
					q[1] = {2.2f};
		GroundTruth gt;
		int64_t		expect[5] = {2, 3, 1, 4, 0};

		for (i = 0; i < 10; i++)
			base[i] = (float) i;
		compute_gt(base, NULL, 10, q, 1, 1, METRIC_L2, GT_K, &gt);
		for (i = 0; i < 5; i++)
			check(gt.ids[i] == expect[i], "brute force: neighbour %d is %lld, expected %lld", i,
				  (long long) gt.ids[i], (long long) expect[i]);
		check(fabsf(gt.dist[0] - 0.2f) < 1e-6, "brute force: distance %g, expected 0.2", gt.dist[0]);
		check(gt.ids[10] == -1, "brute force: missing neighbours must be -1");
		gt_free(&gt);
	}
}

/*
 * the data set of the options generated in chunks instead of held whole
 * (ds, gt: the same held whole, and its ground truth): the same keys, rows,
 * ground truth and exact answers over the rows alive; a chunked load that
 * resumes after an interruption gives the table of the whole-set load
 */
static void
smoke_stream(PGconn *c, const Dataset *ds, const GroundTruth *gt)
{
	Opts		keep = O;
	Dataset		st;
	GroundTruth g1,
				g2;
	GtAcc	   *a;
	LiveSet		L1,
				L2;
	Rng			r1,
				r2;
	int64_t		ids1[50],
				ids2[50],
				pick[3];
	const float *v1[50],
			   *v2[50];
	float	   *rows;
	long		got1,
				got2,
				i;
	size_t		cnt = (size_t) ds->nq * GT_K;
	LoadResult	lr;

	O.stream = 1;
	O.chunk_rows = 64;
	dataset_load(&st);
	check(st.streamed && st.base == NULL, "--stream: the base vectors are held whole");
	check(strcmp(st.key, ds->key) == 0 && strcmp(st.tabkey, ds->tabkey) == 0 && st.ck_extra == ds->ck_extra,
		  "streamed keys %s / %s differ from %s / %s", st.key, st.tabkey, ds->key, ds->tabkey);
	/* rows by number */
	pick[0] = 0;
	pick[1] = 17;
	pick[2] = ds->n - 1;
	rows = xmalloc(sizeof(float) * 3 * ds->dim);
	dataset_base_ids(&st, pick, 3, rows);
	for (i = 0; i < 3; i++)
		check(memcmp(rows + i * ds->dim, ds->base + pick[i] * ds->dim, sizeof(float) * ds->dim) == 0,
			  "streamed row %lld differs", (long long) pick[i]);
	free(rows);
	/* ground truth of one streaming pass */
	a = gt_acc_begin(st.query, st.nq, st.dim, st.metric, GT_K);
	gt_acc_base(a, &st, NULL, NULL);
	gt_acc_end(a, &g1);
	check(memcmp(g1.ids, gt->ids, sizeof(int64_t) * cnt) == 0 && memcmp(g1.dist, gt->dist, sizeof(float) * cnt) == 0,
		  "streamed ground truth differs");
	gt_free(&g1);
	/* exact answers over the rows alive after deletes and inserts */
	live_init(&L1, ds->n);
	live_init(&L2, ds->n);
	rng_seed(&r1, 5, 0, 0);
	r2 = r1;
	got1 = pick_live(&L1, &r1, 50, ids1, v1, ds);
	got2 = pick_live(&L2, &r2, 50, ids2, v2, &st);
	live_materialize(&L2, &st, ids2, v2, got2);
	check(got1 == got2 && memcmp(ids1, ids2, sizeof(int64_t) * got1) == 0, "streamed live set picks other rows");
	for (i = 0; i < got1 && i < got2; i++)
		if (memcmp(v1[i], v2[i], sizeof(float) * ds->dim) != 0)
		{
			check(0, "generated vector of picked row %lld differs", (long long) ids2[i]);
			break;
		}
	for (i = 0; i < 20 && i < ds->nextra; i++)
	{
		live_add(&L1, ds->n + i, ds->extra + i * ds->dim);
		live_add(&L2, ds->n + i, st.extra + i * ds->dim);
	}
	live_gt(ds, &L1, ds->nq, &g1);
	live_gt(&st, &L2, ds->nq, &g2);
	check(memcmp(g1.ids, g2.ids, sizeof(int64_t) * cnt) == 0 && memcmp(g1.dist, g2.dist, sizeof(float) * cnt) == 0,
		  "streamed exact answers over the rows alive differ");
	gt_free(&g1);
	gt_free(&g2);
	live_free(&L1);
	live_free(&L2);
	/* chunked load, interrupted after 128 rows (as a killed load leaves it), resumed */
	snprintf(O.table, sizeof(O.table), "vb_smoke_stream");
	O.force = 1;
	load_base_tables(c, &st, &lr);
	check(lr.rows == st.n && lr.resumed_from == 0, "streamed load copied %ld rows", lr.rows);
	db_exec(c, "DELETE FROM vb_smoke_stream WHERE id >= 128");
	db_exec(c, "UPDATE vecbench_meta SET key = 'loading:' || key, rows = 128 WHERE tbl = 'vb_smoke_stream'");
	O.force = 0;
	load_base_tables(c, &st, &lr);
	check(lr.resumed_from == 128 && lr.rows == st.n - 128, "streamed load resumed after row %ld, copied %ld rows",
		  lr.resumed_from, lr.rows);
	check(db_int(c, "SELECT count(*) FROM vb_smoke_stream s JOIN vb_smoke w USING (id) WHERE s.v = w.v") == st.n &&
		  db_int(c, "SELECT count(*) FROM vb_smoke_stream") == st.n,
		  "the resumed streamed load differs from the whole-set load");
	db_exec(c, "DROP TABLE vb_smoke_stream, vb_smoke_stream_q, vb_smoke_stream_x");
	db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE 'vb_smoke_stream%%'");
	dataset_free(&st);
	O = keep;
}

/* a few hundred synthetic vectors, small batches, every code path */
static const char *const smoke_opts[][2] = {
	{"dataset", "synthetic"}, {"n", "400"}, {"dim", "24"}, {"nq", "40"}, {"nextra", "200"}, {"idim", "6"},
	{"clusters", "5"}, {"metric", "l2"}, {"table", "vb_smoke"}, {"force", NULL}, {"k", "10"},
	{"with", "m=8, ef_construction=32"}, {"values", "10,100"}, {"clients", "1,2"}, {"warmup", "1"},
	{"repeat", "1"}, {"insert-rows", "30"}, {"batches", "1,10"}, {"delete-frac", "0.1"}, {"delete-batch", "7"},
	{"cycles", "2"}, {"cycle-frac", "0.1"}, {"reinsert-batch", "9"}, {"write-nq", "20"}, {"quiet", NULL},
	{"no-stream", NULL},
};

int
cmd_smoke(void)
{
	Opts		saved = O;
	Dataset		ds,
				ds2;
	GroundTruth gt,
				gt2;
	PGconn	   *c;
	char		path[2048],
				tmpl[] = "/tmp/vecbench-smoke-XXXXXX";
	char	   *tmpdir;
	int			i,
				have_pgvector;
	QueryResult qrs[MAXRUNS];
	Spec		sp;
	char		results_path[1200];
	int			own_results = 0;
	double		t_start = now_sec();

	tmpdir = mkdtemp(tmpl);
	if (!tmpdir)
		die("mkdtemp: %s", strerror(errno));
	snprintf(O.datadir, sizeof(O.datadir), "%s", tmpdir);
	if (!O.results[0] || strstr(O.results, "/results.jsonl"))
	{
		snprintf(results_path, sizeof(results_path), "%s/results.jsonl", tmpdir);
		snprintf(O.results, sizeof(O.results), "%s", results_path);
		own_results = 1;
	}
	set_options(smoke_opts, sizeof(smoke_opts) / sizeof(smoke_opts[0]));

	printf("== smoke: recall and brute force known answers\n");
	smoke_recall_unit();

	printf("== smoke: generator is deterministic\n");
	dataset_load(&ds);
	dataset_load(&ds2);
	check(ds.ck_base == ds2.ck_base && ds.ck_query == ds2.ck_query, "synthetic data differs between two runs");
	dataset_free(&ds2);
	O.seed++;
	dataset_load(&ds2);
	check(ds.ck_base != ds2.ck_base, "synthetic data does not depend on the seed");
	dataset_free(&ds2);
	O.seed--;

	printf("== smoke: gt (compute, cache, reuse)\n");
	gt_path(&ds, path, sizeof(path));
	unlink(path);
	gt_get(&ds, &gt);
	check(!gt.cached && access(path, R_OK) == 0, "ground truth was not cached in %s", path);
	gt_get(&ds, &gt2);
	check(gt2.cached, "ground truth cache was not reused");
	check(memcmp(gt.ids, gt2.ids, sizeof(int64_t) * gt.nq * gt.K) == 0 &&
		  memcmp(gt.dist, gt2.dist, sizeof(float) * gt.nq * gt.K) == 0, "cached ground truth differs");
	gt_free(&gt2);
	for (i = 0; i < ds.nq; i++)
	{
		/* first neighbour must be at the minimum distance, rows sorted */
		int			j;

		for (j = 1; j < GT_K; j++)
			if (gt.dist[(size_t) i * GT_K + j] < gt.dist[(size_t) i * GT_K + j - 1])
			{
				check(0, "ground truth of query %d not sorted", i);
				break;
			}
	}

	c = setup_connection();
	printf("== smoke: load (binary COPY) and cmd_load\n");
	check(cmd_load() == 0, "load failed");
	{
		long long	n = db_int(c, "SELECT count(*) FROM vb_smoke");
		char	   *v;

		check(n == ds.n, "vb_smoke has %lld rows, expected %ld", n, ds.n);
		/* a vector read back as text equals the client's floats exactly */
		v = db_value(c, "SELECT v::text FROM vb_smoke WHERE id = 17");
		if (v)
		{
			char	   *p = v + 1,
					   *e;
			int			j,
						ok = 1;

			for (j = 0; j < ds.dim; j++)
			{
				float		f = strtof(p, &e);

				if (e == p || f != ds.base[17 * ds.dim + j])
					ok = 0;
				p = e + 1;
			}
			check(ok, "row 17 read back differs from the data set: %s", v);
			free(v);
		}
		else
			check(0, "row 17 missing");
		n = db_int(c, "SELECT count(*) FROM vb_smoke_q");
		check(n == ds.nq, "vb_smoke_q has %lld rows, expected %d", n, ds.nq);
	}
	O.force = 0;
	check(cmd_gt() == 0, "gt failed");

	/* known answer through the server: exact scans must give recall 1 */
	printf("== smoke: exact scans through the server give recall 1.0\n");
	spec_parse(&sp, "exact", &ds);
	ensure_spec_tables(c, &ds, &sp);
	drop_vector_indexes(c, sp.table);
	run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "", 1, 1, 0, &qrs[0]);
	check(qrs[0].recall1 == 1.0 && qrs[0].recall10 == 1.0, "exact scan recall@1 %g recall@10 %g, expected 1",
		  qrs[0].recall1, qrs[0].recall10);
	run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "", 2, 1, 1, &qrs[1]);
	check(qrs[1].recall10 == 1.0, "server-side exact recall@10 %g, expected 1", qrs[1].recall10);
	/* a deliberately perturbed answer: LIMIT k but skip the best 3 (OFFSET) */
	{
		double		sum = 0,
					expect = 0;
		int			q;

		for (q = 0; q < ds.nq; q++)
		{
			char	   *r;
			int64_t		res[10];
			int			j;
			char		sql[2048],
					   *p,
					   *e;

			snprintf(sql, sizeof(sql),
					 "SELECT array_to_string(ARRAY(SELECT id FROM vb_smoke ORDER BY v <-> (SELECT v FROM vb_smoke_q "
					 "WHERE qid = %d) OFFSET 3 LIMIT 10), ',')", q);
			r = db_value(c, "%s", sql);
			for (j = 0, p = r; j < 10 && p && *p; j++)
			{
				res[j] = strtoll(p, &e, 10);
				p = *e ? e + 1 : e;
			}
			sum += recall_at(res, j, gt.ids + (size_t) q * GT_K, gt.dist + (size_t) q * GT_K, GT_K, 10);
			expect += 0.7;
			free(r);
		}
		check(fabs(sum / ds.nq - expect / ds.nq) < 1e-9, "recall of results shifted by 3 is %g, expected 0.7",
			  sum / ds.nq);
	}
	O.exact = 0;

	printf("== smoke: cosine and inner product ground truth match exact scans\n");
	{
		Opts		keep = O;
		int			mt;

		for (mt = 1; mt <= 2; mt++)
		{
			Dataset		dm;
			GroundTruth gm;
			Spec		se;

			snprintf(O.metric, sizeof(O.metric), "%s", metric_names[mt]);
			snprintf(O.table, sizeof(O.table), "vb_smoke_%s", metric_names[mt]);
			O.n = 300;
			O.nq = 20;
			O.force = 1;
			dataset_load(&dm);
			gt_get(&dm, &gm);
			{
				LoadResult lr;

				load_base_tables(c, &dm, &lr);
			}
			spec_parse(&se, "exact", &dm);
			run_queries(&dm, &se, se.table, se.qtable, dm.query, dm.nq, &gm, "", 1, 1, 0, &qrs[2]);
			check(qrs[2].recall10 == 1.0, "%s: exact scan recall@10 %g, expected 1", metric_names[mt],
				  qrs[2].recall10);
			db_exec(c, "DROP TABLE vb_smoke_%s, vb_smoke_%s_q, vb_smoke_%s_x", metric_names[mt],
					metric_names[mt], metric_names[mt]);
			gt_free(&gm);
			dataset_free(&dm);
		}
		O = keep;
	}

	printf("== smoke: streamed data set (chunks of 64 rows): same keys, ground truth, rows alive, load\n");
	smoke_stream(c, &ds, &gt);

	printf("== smoke: build\n");
	O.nspec = 1;
	O.specstr[0] = "vechnsw";
	check(cmd_build() == 0, "build failed");
	spec_parse(&sp, "vechnsw", &ds);
	check(index_exists(c, sp.index), "index %s missing after build", sp.index);
	check(db_int(c, "SELECT pg_relation_size('%s')", sp.index) > 0, "index %s is empty", sp.index);

	printf("== smoke: query (1 and 2 clients, 2 ef values, and server-side)\n");
	O.quiet = 0;
	check(cmd_query() == 0, "query failed");
	O.server_side = 1;
	snprintf(O.clients, sizeof(O.clients), "1");
	check(cmd_query() == 0, "server-side query failed");
	O.server_side = 0;
	{
		QueryResult q;

		run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "100", 1, 1, 0, &q);
		check(q.recall10 >= 0 && q.recall10 <= 1, "index recall@10 out of range: %g", q.recall10);
		if (q.recall10 < 0.8)
			fprintf(stderr, "vecbench smoke: warning: vechnsw recall@10 at ef_search=100 on %ld vectors is %.3f\n",
					ds.n, q.recall10);
	}

	printf("== smoke: write (inserts, deletes, VACUUM, cycles) with exact scans: recall must stay 1.0\n");
	O.exact = 1;
	O.quiet = 1;
	check(cmd_write() == 0, "write (exact) failed");
	check(g_last_write.recall_before == 1.0 && g_last_write.recall_after_vacuum == 1.0 &&
		  g_last_write.recall_after_cycles == 1.0,
		  "write: exact recall before %g, after VACUUM %g, after cycles %g: the live set is tracked wrongly",
		  g_last_write.recall_before, g_last_write.recall_after_vacuum, g_last_write.recall_after_cycles);
	O.exact = 0;
	O.cycles = 1;
	printf("== smoke: write with the index\n");
	check(cmd_write() == 0, "write failed");

	printf("== smoke: churn (delete 50%%, VACUUM, reinsert, 2 rounds of 10%%) with exact scans: recall stays 1.0\n");
	O.exact = 1;
	O.delete_frac = 0.5;
	O.cycles = 2;
	check(cmd_churn() == 0, "churn (exact) failed");
	check(g_last_churn.min_recall10 == 1.0 && g_last_churn.max_recall10 == 1.0 && g_last_churn.live_end == ds.n,
		  "churn: exact recall between %g and %g, %ld rows alive at the end (expected 1.0 and %ld): the live set "
		  "is tracked wrongly", g_last_churn.min_recall10, g_last_churn.max_recall10, g_last_churn.live_end, ds.n);
	O.exact = 0;
	O.delete_frac = 0.1;
	O.cycles = 1;

	printf("== smoke: soak (5 s: 1 writer, 1 reader, VACUUM every s, a report every s), then 2 s with exact "
		   "scans: recall 1.0\n");
	O.nspec = 1;
	O.specstr[0] = "vechnsw";
	O.duration = 5;
	O.report_every = 1;
	O.writers = 1;
	O.readers = 1;
	O.vacuum_interval = 1;
	O.recall_queries = 5;
	O.read_rate = O.write_rate = 0;
	check(cmd_soak() == 0, "soak failed");
	check(g_last_soak.reports >= 5, "soak printed %d report lines, expected at least 5", g_last_soak.reports);
	check(g_last_soak.inserts > 0 && g_last_soak.deletes > 0 && g_last_soak.queries > 0,
		  "soak: %ld inserts, %ld deletes, %ld searches", g_last_soak.inserts, g_last_soak.deletes,
		  g_last_soak.queries);
	check(g_last_soak.errors == 0 && g_last_soak.delete_missed == 0, "soak: %ld errors, %ld deletes found no row",
		  g_last_soak.errors, g_last_soak.delete_missed);
	check(g_last_soak.rows_table == ds.n && g_last_soak.rows_tracked == ds.n,
		  "soak: %ld rows in the table, %ld tracked, expected %ld (live rows constant)", g_last_soak.rows_table,
		  g_last_soak.rows_tracked, ds.n);
	check(g_last_soak.recall_min >= 0 && g_last_soak.recall_min <= 1 && g_last_soak.size_min > 0,
		  "soak: recall min %g, index min %lld bytes", g_last_soak.recall_min, g_last_soak.size_min);
	O.exact = 1;
	O.duration = 2;
	check(cmd_soak() == 0, "soak (exact) failed");
	check(g_last_soak.recall_min == 1.0 && g_last_soak.recall_mean == 1.0,
		  "soak with exact scans: recall min %g mean %g, expected 1: the snapshot sample is wrong",
		  g_last_soak.recall_min, g_last_soak.recall_mean);
	O.exact = 0;
	{
		FILE	   *f = fopen(O.results, "r");
		char	   *line = NULL;
		size_t		cap = 0;
		int			nsoak = 0,
					good = 0;

		while (f && getline(&line, &cap, f) > 0)
			if (strstr(line, "\"subcommand\":\"soak\""))
			{
				const char *p = strstr(line, "\"series\":[{");
				int			pts = 0;

				nsoak++;
				while (p && (p = strstr(p + 1, "{\"t\":")) != NULL)
					pts++;
				if (pts >= 3 && strstr(line, "\"recall_mean_after_warmup\"") && strstr(line, "\"index_stats\""))
					good++;
			}
		free(line);
		if (f)
			fclose(f);
		check(nsoak == 2 && good == 2, "results file: %d soak lines, %d with a series of 3+ points, expected 2",
			  nsoak, good);
	}

	printf("== smoke: compare (vechnsw m=8 against vechnsw m=16%s)\n", "");
	have_pgvector = db_int(c, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") > 0;
	O.nspec = 2;
	O.specstr[0] = "vechnsw;name=m8";
	O.specstr[1] = "vechnsw;name=m16;with=m=16, ef_construction=32";
	snprintf(O.clients, sizeof(O.clients), "1");
	check(cmd_compare() == 0, "compare failed");
	if (have_pgvector && getenv("VECBENCH_SMOKE_PGVECTOR"))
	{
		O.specstr[1] = "pgvector;with=m=8, ef_construction=32";
		check(cmd_compare() == 0, "compare with pgvector failed");
	}

	printf("== smoke: results file\n");
	{
		FILE	   *f = fopen(O.results, "r");
		char	   *line = NULL;
		size_t		cap = 0;
		int			nl = 0,
					bad = 0;
		ssize_t		len;

		check(f != NULL, "results file %s missing", O.results);
		while (f && (len = getline(&line, &cap, f)) > 0)
		{
			nl++;
			if (line[0] != '{' || line[len - 2] != '}' || !strstr(line, "\"pg_version\"") ||
				!strstr(line, "\"git_commit\"") || !strstr(line, "\"machine\""))
				bad++;
		}
		free(line);
		if (f)
			fclose(f);
		check(nl >= 8 && bad == 0, "results file has %d lines, %d malformed", nl, bad);
	}

	db_exec(c, "DROP TABLE IF EXISTS vb_smoke, vb_smoke_q, vb_smoke_x CASCADE");
	db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE 'vb_smoke%%'");
	db_finish(c);
	gt_free(&gt);
	dataset_free(&ds);
	if (own_results)
		unlink(results_path);
	unlink(path);
	{
		char		cmd[1200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	O = saved;
	if (g_smoke_fail)
	{
		printf("vecbench smoke: FAIL (%d check%s failed)\n", g_smoke_fail, g_smoke_fail > 1 ? "s" : "");
		return 1;
	}
	printf("vecbench smoke: ok (%.1f s)\n", now_sec() - t_start);
	return 0;
}

