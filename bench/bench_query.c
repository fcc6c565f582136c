/*
 * bench_query.c: building indexes and querying them.
 *   - build: CREATE INDEX with a progress bar read from
 *     pg_stat_progress_create_index on a second connection; size,
 *     bytes/vector, backend peak RSS, vechnsw_index_stats();
 *   - query: the test queries over N connections (one thread each,
 *     prepared statement, binary float4[] parameter), or one statement per
 *     connection (--server-side); QPS, latency percentiles, recall@1/10/100;
 *   - the 'build', 'query' and 'compare' subcommands.
 */
#include "vecbench.h"

#include <endian.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

/* the spec has an index (not exact scans) */
int
has_index(const Spec *s)
{
	return strcmp(s->am, "none") != 0;
}

/* the GUC values to sweep: --values, or one empty value for exact scans */
int
sweep_values(const Spec *s, char values[][64])
{
	if (O.exact || !has_index(s))
	{
		values[0][0] = 0;
		return 1;
	}
	return parse_str_list(O.values, values, MAXLIST);
}

/* ------------------------------------------------------------------------
 * build
 * ------------------------------------------------------------------------ */

/* drop the indexes of table that back no constraint */
void
drop_vector_indexes(PGconn *c, const char *table)
{
	PGresult   *r;
	int			i;
	char		sql[640];

	snprintf(sql, sizeof(sql),
			 "SELECT format('DROP INDEX %%I.%%I', n.nspname, ci.relname) FROM pg_index i "
			 "JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ci.relnamespace "
			 "WHERE i.indrelid = '%s'::regclass AND NOT EXISTS "
			 "(SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)", table);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(c));
	for (i = 0; i < PQntuples(r); i++)
		db_exec(c, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
}

int
index_exists(PGconn *c, const char *index)
{
	return db_int(c, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('%s')", index) == 1;
}

/* pages of the index in shared buffers (pg_buffercache, -1 without it) and in all */
static void
index_buffers(PGconn *c, const char *index, long long *cached, long long *total)
{
	char		sql[512];
	PGresult   *r;

	*cached = -1;
	*total = db_int(c, "SELECT pg_relation_size('%s') / current_setting('block_size')::int", index);
	if (!db_try(c, 1, "CREATE EXTENSION IF NOT EXISTS pg_buffercache"))
		return;
	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('%s') "
			 "AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())", index);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		*cached = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* one look at pg_stat_progress_create_index of the building backend */
static void
build_progress(PGconn *mon, int pid, Progress *p)
{
	PGresult   *pr;
	char		q[512];

	snprintf(q, sizeof(q), "SELECT phase, blocks_total, blocks_done, tuples_total, tuples_done "
			 "FROM pg_stat_progress_create_index WHERE pid = %d", pid);
	pr = PQexec(mon, q);
	if (PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) == 1)
	{
		double		bt = atof(PQgetvalue(pr, 0, 1)),
					bd = atof(PQgetvalue(pr, 0, 2)),
					tt = atof(PQgetvalue(pr, 0, 3)),
					td = atof(PQgetvalue(pr, 0, 4));
		double		frac = -1;
		char		det[160];

		if (tt > 0)
		{
			frac = td / tt;
			snprintf(det, sizeof(det), "%.80s %.0f/%.0f tuples", PQgetvalue(pr, 0, 0), td, tt);
		}
		else if (bt > 0)
		{
			frac = bd / bt;
			snprintf(det, sizeof(det), "%.80s %.0f/%.0f blocks", PQgetvalue(pr, 0, 0), bd, bt);
		}
		else
			snprintf(det, sizeof(det), "%.80s %.0f tuples", PQgetvalue(pr, 0, 0), td);
		if (frac > 1)
			frac = 1;
		progress_show(p, frac, det);
	}
	PQclear(pr);
}

/* CREATE INDEX (after dropping the table's other indexes), with progress */
void
build_index(PGconn *c, const Spec *s, const char *table, const char *index, long nrows, BuildResult *br)
{
	PGconn	   *mon = db_connect();
	char		sql[1024];
	double		t0;
	Progress	p;
	PGresult   *r;
	int			sock,
				failed = 0;
	char		err[1024] = "";

	memset(br, 0, sizeof(*br));
	drop_vector_indexes(c, table);
	br->pid = PQbackendPID(c);
	if (s->with[0])
		snprintf(sql, sizeof(sql), "CREATE INDEX %s ON %s USING %s (v %s) WITH (%s)", index, table, s->am,
				 s->ops, s->with);
	else
		snprintf(sql, sizeof(sql), "CREATE INDEX %s ON %s USING %s (v %s)", index, table, s->am, s->ops);
	if (!O.quiet)
		fprintf(stderr, "build: %s\n", sql);
	progress_start(&p, "build");
	t0 = now_sec();
	if (!PQsendQuery(c, sql))
		die("%s: %s", sql, PQerrorMessage(c));
	sock = PQsocket(c);
	for (;;)
	{
		fd_set		fds;
		struct timeval tv = {0, 250000};

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		select(sock + 1, &fds, NULL, NULL, &tv);
		if (!PQconsumeInput(c))
			die("build: %s", PQerrorMessage(c));
		if (!PQisBusy(c))
			break;
		build_progress(mon, br->pid, &p);
	}
	while ((r = PQgetResult(c)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			failed = 1;
			snprintf(err, sizeof(err), "%s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	br->seconds = now_sec() - t0;
	progress_show(&p, 1.0, "done");
	progress_end(&p);
	if (failed)
		die("CREATE INDEX failed: %s", err);
	br->mem = proc_mem(br->pid);
	br->index_bytes = db_int(c, "SELECT pg_relation_size('%s')", index);
	br->table_bytes = db_int(c, "SELECT pg_table_size('%s')", table);
	br->bytes_per_vector = nrows > 0 ? (double) br->index_bytes / nrows : NAN;
	if (strcmp(s->am, "vechnsw") == 0)
	{
		snprintf(sql, sizeof(sql), "SELECT row_to_json(s)::text FROM vechnsw_index_stats('%s') s", index);
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			snprintf(br->stats, sizeof(br->stats), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	db_exec(c, "ANALYZE %s", table);
	db_finish(mon);
}

void
print_build(const Spec *s, const char *table, const BuildResult *br)
{
	printf("build: %-10s %s USING %s (%s) WITH (%s): %.2f s, index %.1f MB, %.0f bytes/vector, table %.1f MB, "
		   "backend peak RSS %.1f MB\n", s->label, table, s->am, s->ops, s->with, br->seconds,
		   br->index_bytes / 1048576.0, br->bytes_per_vector, br->table_bytes / 1048576.0, br->mem.hwm_kb / 1024.0);
	if (br->stats[0])
		printf("       %s\n", br->stats);
	fflush(stdout);
}

void
json_build(Json *j, const BuildResult *br)
{
	j_num(j, "build_seconds", br->seconds);
	j_int(j, "index_bytes", br->index_bytes);
	j_int(j, "table_bytes", br->table_bytes);
	j_num(j, "bytes_per_vector", br->bytes_per_vector);
	j_mem(j, &br->mem);
	if (br->stats[0])
		j_raw(j, "index_stats", br->stats);
}

/* build the spec's index on its table, print and record it */
static void
do_build(PGconn *c, const Dataset *ds, const Spec *s, BuildResult *br)
{
	Json		j;

	if (!has_index(s))
	{
		memset(br, 0, sizeof(*br));
		drop_vector_indexes(c, s->table);
		printf("build: %s: no index (exact scans)\n", s->label);
		return;
	}
	build_index(c, s, s->table, s->index, ds->n, br);
	print_build(s, s->table, br);
	meta_refresh_extensions(c);
	json_run_begin(&j, "build", ds, s);
	json_build(&j, br);
	json_run_end(&j);
}

int
cmd_build(void)
{
	Run			r;
	BuildResult br;
	int			i;

	start_run(&r, 0);
	for (i = 0; i < r.nspec; i++)
	{
		ensure_spec_tables(r.c, &r.ds, &r.specs[i]);
		do_build(r.c, &r.ds, &r.specs[i], &br);
	}
	end_run(&r);
	return 0;
}

/* ------------------------------------------------------------------------
 * query: prepared statements, binary parameters, N connections
 * ------------------------------------------------------------------------ */

typedef struct QueryJob
{
	const char *table;
	const char *qtable;
	int			nq,
				k;
	int			clients;
	long		total;			/* nq * repeat */
	long		next;
	double	   *lat;			/* total */
	int64_t    *res;			/* nq * k, -1 filled */
	int		   *nres;			/* nq */
	PGconn	  **conns;
	char	  **params;			/* per query binary param */
	int		   *paramlen;
	pthread_barrier_t barrier;
	int			server_side;
	const char *op;
	char		errmsg[512];
	int			failed;
} QueryJob;

typedef struct QThread
{
	QueryJob   *J;
	int			idx;
} QThread;

static void
job_fail(QueryJob *J, const char *what, PGconn *c)
{
	if (!__atomic_exchange_n(&J->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(J->errmsg, sizeof(J->errmsg), "%s: %s", what, PQerrorMessage(c));
}

/* run query qi on c; store: keep its ids; returns the rows, or -1 */
static int
run_one_query(QueryJob *J, PGconn *c, int qi, int store)
{
	const char *vals[1] = {J->params[qi]};
	int			lens[1] = {J->paramlen[qi]};
	int			fmts[1] = {1};
	PGresult   *r = PQexecPrepared(c, "q", 1, vals, lens, fmts, 1);
	int			i,
				n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		job_fail(J, "query", c);
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	if (store)
	{
		for (i = 0; i < n && i < J->k; i++)
		{
			uint64_t	v;

			memcpy(&v, PQgetvalue(r, i, 0), 8);
			J->res[(size_t) qi * J->k + i] = (int64_t) be64toh(v);
		}
		J->nres[qi] = n;
	}
	PQclear(r);
	return n;
}

/* --server-side: the share of the queries of client idx in one statement */
static void
run_server_side(QueryJob *J, PGconn *c, int idx)
{
	char		sql[2048];
	PGresult   *r;
	int			i;

	snprintf(sql, sizeof(sql),
			 "SELECT q.qid, ARRAY(SELECT t.id FROM %s t ORDER BY t.v %s q.v LIMIT %d) "
			 "FROM %s q WHERE q.qid < %d AND q.qid %% %d = %d",
			 J->table, J->op, J->k, J->qtable, J->nq, J->clients, idx);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		job_fail(J, "server-side query", c);
		PQclear(r);
		return;
	}
	for (i = 0; i < PQntuples(r); i++)
	{
		int			qi = atoi(PQgetvalue(r, i, 0));
		char	   *s = PQgetvalue(r, i, 1),
				   *e;
		int			n = 0;

		if (qi < 0 || qi >= J->nq)
			continue;
		if (*s == '{')
			s++;
		while (*s && *s != '}')
		{
			long long	v = strtoll(s, &e, 10);

			if (e == s)
				break;
			if (n < J->k)
				J->res[(size_t) qi * J->k + n] = v;
			n++;
			s = e;
			if (*s == ',')
				s++;
		}
		J->nres[qi] = n;
	}
	PQclear(r);
}

/* one client: waits for the start, takes queries until all are done, waits for the others */
static void *
query_thread(void *arg)
{
	QThread    *T = arg;
	QueryJob   *J = T->J;
	PGconn	   *c = J->conns[T->idx];

	pthread_barrier_wait(&J->barrier);
	if (J->server_side)
		run_server_side(J, c, T->idx);
	else
		for (;;)
		{
			long		j = __atomic_fetch_add(&J->next, 1, __ATOMIC_RELAXED);
			double		t0;

			if (j >= J->total || J->failed)
				break;
			t0 = now_sec();
			if (run_one_query(J, c, (int) (j % J->nq), j < J->nq) < 0)
				break;
			J->lat[j] = (now_sec() - t0) * 1000.0;
		}
	pthread_barrier_wait(&J->barrier);
	return NULL;
}

/* binary float4[] parameters of the queries (built once per call) */
static void
build_params(const float *queries, int nq, int dim, char ***params, int **lens)
{
	int			i;

	*params = xmalloc(sizeof(char *) * nq);
	*lens = xmalloc(sizeof(int) * nq);
	for (i = 0; i < nq; i++)
	{
		PQExpBufferData b;

		initPQExpBuffer(&b);
		append_float_array(&b, queries + (size_t) i * dim, dim);
		buf_check(&b);
		(*params)[i] = b.data;
		(*lens)[i] = (int) b.len;
	}
}

/* a fresh connection for a client: plan mode, exact scans, the GUC, the prepared query */
static PGconn *
query_connection(QueryJob *J, const Spec *s, const char *sql, const char *value, int i)
{
	PGconn	   *c = db_connect();
	Oid			types[1] = {FLOAT4ARRAYOID};

	if (O.generic)
		db_exec(c, "SET plan_cache_mode = force_generic_plan");
	if (O.exact || !has_index(s))
		db_exec(c, "SET enable_indexscan = off; SET enable_bitmapscan = off");
	else
		/*
		 * The index's figures are the point: on a small table the planner
		 * may rightly prefer a sequential scan, which would measure exact
		 * answers instead.
		 */
		db_exec(c, "SET enable_seqscan = off");
	if (value && value[0] && s->guc[0])
		db_exec(c, "SET %s = %s", s->guc, value);
	if (!J->server_side)
	{
		db_prepare(c, "q", sql, 1, types);
		/* one untimed query per connection: caches, plan */
		if (run_one_query(J, c, i % J->nq, 0) < 0)
			die("%s", J->errmsg);
	}
	return c;
}

/*
 * Run the queries once over 'clients' fresh connections with GUC = value and
 * fill qr.  gt may be NULL (no recall).
 */
void
run_queries(const Dataset *ds, const Spec *s, const char *table, const char *qtable,
			const float *queries, int nq, const GroundTruth *gt, const char *value, int clients,
			int repeat, int server_side, QueryResult *qr)
{
	QueryJob	J;
	QThread    *T;
	pthread_t  *th;
	int			i;
	double		t0,
				t1;
	double		r1 = 0,
				r10 = 0,
				r100 = 0;
	char		sql[1024];

	memset(&J, 0, sizeof(J));
	memset(qr, 0, sizeof(*qr));
	snprintf(qr->value, sizeof(qr->value), "%s", value ? value : "");
	J.table = table;
	J.qtable = qtable;
	J.nq = nq;
	J.k = O.k;
	J.clients = clients;
	J.total = server_side ? nq : (long) nq * (repeat > 0 ? repeat : 1);
	J.server_side = server_side;
	J.lat = xcalloc(J.total, sizeof(double));
	J.res = xmalloc(sizeof(int64_t) * nq * O.k);
	for (i = 0; i < nq * O.k; i++)
		J.res[i] = -1;
	J.nres = xcalloc(nq, sizeof(int));
	J.op = metric_ops[ds->metric];
	build_params(queries, nq, ds->dim, &J.params, &J.paramlen);
	J.conns = xmalloc(sizeof(PGconn *) * clients);
	snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY v %s %s LIMIT %d", table, metric_ops[ds->metric],
			 s->param, O.k);
	for (i = 0; i < clients; i++)
		J.conns[i] = query_connection(&J, s, sql, value, i);

	/*
	 * Server-side: each connection runs its statement once untimed first, as
	 * client-side connections run one query.  A fresh backend touching the
	 * shared buffers of an index and table for the first time takes a minor
	 * page fault per 4 kB page (about 13,000 on fashion-mnist, half a second
	 * here), which would otherwise be counted as query time.
	 */
	if (server_side)
		for (i = 0; i < clients && !J.failed; i++)
			run_server_side(&J, J.conns[i], i);
	if (J.failed)
		die("%s", J.errmsg);
	T = xmalloc(sizeof(QThread) * clients);
	th = xmalloc(sizeof(pthread_t) * clients);
	pthread_barrier_init(&J.barrier, NULL, clients + 1);
	for (i = 0; i < clients; i++)
	{
		T[i].J = &J;
		T[i].idx = i;
		pthread_create(&th[i], NULL, query_thread, &T[i]);
	}
	pthread_barrier_wait(&J.barrier);
	t0 = now_sec();
	pthread_barrier_wait(&J.barrier);
	t1 = now_sec();
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&J.barrier);
	if (J.failed)
		die("%s", J.errmsg);
	qr->clients = clients;
	qr->server_side = server_side;
	qr->queries = J.total;
	qr->wall = t1 - t0;
	qr->qps = J.total / qr->wall;
	qr->mem.hwm_kb = qr->mem.rss_kb = qr->mem.anon_kb = -1;
	for (i = 0; i < clients; i++)
	{
		Mem			m = proc_mem(PQbackendPID(J.conns[i]));

		if (m.hwm_kb > qr->mem.hwm_kb)
			qr->mem.hwm_kb = m.hwm_kb;
		if (m.rss_kb > qr->mem.rss_kb)
			qr->mem.rss_kb = m.rss_kb;
		if (m.anon_kb > qr->mem.anon_kb)
			qr->mem.anon_kb = m.anon_kb;
		db_finish(J.conns[i]);
	}
	if (!server_side)
	{
		double		sum = 0;

		for (i = 0; i < J.total; i++)
			sum += J.lat[i];
		qsort(J.lat, J.total, sizeof(double), cmp_double);
		qr->p50 = percentile_sorted(J.lat, J.total, 0.50);
		qr->p95 = percentile_sorted(J.lat, J.total, 0.95);
		qr->p99 = percentile_sorted(J.lat, J.total, 0.99);
		qr->mean = sum / J.total;
	}
	else
		qr->p50 = qr->p95 = qr->p99 = qr->mean = NAN;
	qr->min_results = LONG_MAX;
	for (i = 0; i < nq; i++)
	{
		if (J.nres[i] < qr->min_results)
			qr->min_results = J.nres[i];
		if (gt)
		{
			const int64_t *res = J.res + (size_t) i * O.k,
					   *ids = gt->ids + (size_t) i * gt->K;
			const float *d = gt->dist + (size_t) i * gt->K;
			int			nr = J.nres[i] < O.k ? J.nres[i] : O.k;

			r1 += recall_at(res, nr, ids, d, gt->K, 1);
			if (O.k >= 10)
				r10 += recall_at(res, nr, ids, d, gt->K, 10);
			if (O.k >= 100)
				r100 += recall_at(res, nr, ids, d, gt->K, 100);
		}
	}
	qr->recall1 = gt ? r1 / nq : NAN;
	qr->recall10 = gt && O.k >= 10 ? r10 / nq : NAN;
	qr->recall100 = gt && O.k >= 100 ? r100 / nq : NAN;
	for (i = 0; i < nq; i++)
		free(J.params[i]);
	free(J.params);
	free(J.paramlen);
	free(J.conns);
	free(J.lat);
	free(J.res);
	free(J.nres);
	free(T);
	free(th);
}

static void
print_query_header(void)
{
	printf("%-10s %-22s %7s %4s %9s %8s %8s %8s %7s %7s %7s %8s\n", "spec", "guc", "value", "cli", "QPS",
		   "p50 ms", "p95 ms", "p99 ms", "R@1", "R@10", "R@100", "HWM MB");
}

/* "-" for NaN (not measured) */
static void
fmt_or_dash(char *out, size_t len, const char *fmt, double v)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, fmt, v);
}

static void
print_query_row(const Spec *s, const QueryResult *q)
{
	char		p50[32],
				p95[32],
				p99[32],
				r10[16],
				r100[16];

	fmt_or_dash(p50, sizeof(p50), "%.3f", q->p50);
	fmt_or_dash(p95, sizeof(p95), "%.3f", q->p95);
	fmt_or_dash(p99, sizeof(p99), "%.3f", q->p99);
	fmt_or_dash(r10, sizeof(r10), "%.4f", q->recall10);
	fmt_or_dash(r100, sizeof(r100), "%.4f", q->recall100);
	printf("%-10.10s %-22.22s %7s %4d %9.1f %8s %8s %8s %7.4f %7s %7s %8.1f%s\n", s->label,
		   O.exact ? "(exact scan)" : (s->guc[0] ? s->guc : "-"), q->value[0] ? q->value : "-", q->clients,
		   q->qps, p50, p95, p99, q->recall1, r10, r100, q->mem.hwm_kb / 1024.0,
		   q->server_side ? "  (server-side)" : "");
	fflush(stdout);
}

void
json_query_result(Json *j, const QueryResult *q)
{
	j_obj(j, NULL);
	j_str(j, "guc_value", q->value);
	j_int(j, "clients", q->clients);
	j_bool(j, "server_side", q->server_side);
	j_int(j, "queries", q->queries);
	j_num(j, "seconds", q->wall);
	j_num(j, "qps", q->qps);
	j_num(j, "p50_ms", q->p50);
	j_num(j, "p95_ms", q->p95);
	j_num(j, "p99_ms", q->p99);
	j_num(j, "mean_ms", q->mean);
	j_num(j, "recall_at_1", q->recall1);
	j_num(j, "recall_at_10", q->recall10);
	j_num(j, "recall_at_100", q->recall100);
	j_int(j, "min_rows_returned", q->min_results == LONG_MAX ? -1 : q->min_results);
	j_mem(j, &q->mem);
	j_end(j);
}

/* query sweep for one spec; results in qrs (values x clients), returns count */
static int
query_sweep(PGconn *c, const Dataset *ds, const Spec *s, const GroundTruth *gt, QueryResult *qrs, int maxq,
			int emit_json)
{
	char		values[MAXLIST][64];
	long		clients[MAXLIST];
	int			nv,
				nc,
				vi,
				ci,
				nr = 0,
				maxc = 1,
				indexed = !O.exact && has_index(s);
	long long	cached = -1,
				total = -1;
	Json		j;

	nv = sweep_values(s, values);
	nc = parse_int_list(O.clients, clients, MAXLIST);
	for (ci = 0; ci < nc; ci++)
		if (clients[ci] > maxc)
			maxc = clients[ci];
	if (indexed && !index_exists(c, s->index))
		fprintf(stderr, "vecbench: warning: index %s does not exist (run 'vecbench build' first); "
				"queries will scan\n", s->index);
	if (O.warmup > 0)
	{
		QueryResult w;

		if (!O.quiet)
			fprintf(stderr, "query: warm-up (%d pass%s over %d queries)\n", O.warmup, O.warmup > 1 ? "es" : "",
					ds->nq);
		run_queries(ds, s, s->table, s->qtable, ds->query, ds->nq, NULL, values[nv - 1], maxc, O.warmup, 0, &w);
	}
	for (vi = 0; vi < nv; vi++)
		for (ci = 0; ci < nc && nr < maxq; ci++)
		{
			run_queries(ds, s, s->table, s->qtable, ds->query, ds->nq, gt, values[vi], (int) clients[ci],
						O.repeat, O.server_side, &qrs[nr]);
			print_query_row(s, &qrs[nr]);
			nr++;
		}
	if (indexed && index_exists(c, s->index))
		index_buffers(c, s->index, &cached, &total);
	if (cached >= 0)
		printf("           index %s: %lld of %lld pages in shared buffers\n", s->index, cached, total);
	if (emit_json)
	{
		meta_refresh_extensions(c);
		json_run_begin(&j, "query", ds, s);
		j_int(&j, "index_pages", total);
		j_int(&j, "index_pages_in_shared_buffers", cached);
		j_arr(&j, "runs");
		for (vi = 0; vi < nr; vi++)
			json_query_result(&j, &qrs[vi]);
		j_end(&j);
		json_run_end(&j);
	}
	return nr;
}

int
cmd_query(void)
{
	Run			r;
	QueryResult qrs[MAXRUNS];
	int			i;

	start_run(&r, 1);
	print_query_header();
	for (i = 0; i < r.nspec; i++)
	{
		ensure_spec_tables(r.c, &r.ds, &r.specs[i]);
		query_sweep(r.c, &r.ds, &r.specs[i], &r.gt, qrs, MAXRUNS, 1);
	}
	end_run(&r);
	return 0;
}

/* ------------------------------------------------------------------------
 * compare: two specs, alternating build + query runs, medians and B/A
 * ------------------------------------------------------------------------ */

typedef struct CmpRow
{
	char		name[96];
	double		v[2][16];		/* spec x run */
} CmpRow;

/* the figures of one run of spec si: row r of rows (the same figures in the same order every run) */
static int
compare_figures(CmpRow *rows, int si, int run, const BuildResult *br, const QueryResult *qrs, int nq)
{
	int			r = 0,
				i;

#define ROW(val, ...) do { \
		snprintf(rows[r].name, sizeof(rows[r].name), __VA_ARGS__); \
		rows[r].v[si][run] = (val); r++; } while (0)
	ROW(br->seconds, "build seconds");
	ROW(br->index_bytes / 1048576.0, "index MB");
	ROW(br->bytes_per_vector, "bytes/vector");
	ROW(br->mem.hwm_kb / 1024.0, "build peak RSS MB");
	for (i = 0; i < nq; i++)
	{
		const QueryResult *q = &qrs[i];

		ROW(q->qps, "ef=%.63s c=%d QPS", q->value, q->clients);
		ROW(q->recall1, "ef=%.63s c=%d recall@1", q->value, q->clients);
		if (O.k >= 10)
			ROW(q->recall10, "ef=%.63s c=%d recall@10", q->value, q->clients);
		if (O.k >= 100)
			ROW(q->recall100, "ef=%.63s c=%d recall@100", q->value, q->clients);
		ROW(q->p50, "ef=%.63s c=%d p50 ms", q->value, q->clients);
		ROW(q->p99, "ef=%.63s c=%d p99 ms", q->value, q->clients);
	}
#undef ROW
	return r;
}

/* the medians of the runs of both specs and their ratio B/A: a table and one JSON line */
static void
compare_report(Run *r, const CmpRow *rows, int nrows, int runs)
{
	const Spec *a = &r->specs[0],
			   *b = &r->specs[1];
	Json		j;
	int			i,
				si,
				run;

	printf("\n== compare: A = %s (%s %s %s), B = %s (%s %s %s); median of %d run%s\n",
		   a->label, a->am, a->ops, a->type, b->label, b->am, b->ops, b->type, runs, runs > 1 ? "s" : "");
	printf("%-28s %12s %12s %8s\n", "figure", a->label, b->label, "B/A");
	meta_refresh_extensions(r->c);
	json_run_begin(&j, "compare", &r->ds, NULL);
	j_arr(&j, "specs");
	for (si = 0; si < 2; si++)
	{
		j_obj(&j, NULL);
		j_spec(&j, &r->specs[si]);
		j_end(&j);
	}
	j_end(&j);
	j_arr(&j, "figures");
	for (i = 0; i < nrows; i++)
	{
		double		ma = median_of(rows[i].v[0], runs),
					mb = median_of(rows[i].v[1], runs);
		double		ratio = ma != 0 ? mb / ma : NAN;

		printf("%-28s %12.4g %12.4g %8.3f\n", rows[i].name, ma, mb, ratio);
		j_obj(&j, NULL);
		j_str(&j, "figure", rows[i].name);
		j_num(&j, "a", ma);
		j_num(&j, "b", mb);
		j_num(&j, "ratio_b_over_a", ratio);
		for (si = 0; si < 2; si++)
		{
			j_arr(&j, si == 0 ? "a_runs" : "b_runs");
			for (run = 0; run < runs; run++)
				j_num(&j, NULL, rows[i].v[si][run]);
			j_end(&j);
		}
		j_end(&j);
	}
	j_end(&j);
	json_run_end(&j);
}

int
cmd_compare(void)
{
	Run			r;
	int			run,
				k,
				nrows = 0,
				runs = O.runs < 1 ? 1 : (O.runs > 16 ? 16 : O.runs);
	CmpRow	   *rows = xcalloc(512, sizeof(CmpRow));
	QueryResult qrs[MAXRUNS];

	start_run(&r, 1);
	if (r.nspec < 2)
		die("compare needs two --spec options (for instance --spec vechnsw --spec pgvector)");
	for (k = 0; k < 2; k++)
		ensure_spec_tables(r.c, &r.ds, &r.specs[k]);
	for (run = 0; run < runs; run++)
		for (k = 0; k < 2; k++)
		{
			/* alternate the order: A B, B A, A B, ... */
			int			si = (run % 2 == 0) ? k : 1 - k,
						nq,
						nfig;
			Spec	   *s = &r.specs[si];
			BuildResult br;

			printf("== compare run %d/%d: %s\n", run + 1, runs, s->label);
			do_build(r.c, &r.ds, s, &br);
			print_query_header();
			nq = query_sweep(r.c, &r.ds, s, &r.gt, qrs, MAXRUNS, 1);
			nfig = compare_figures(rows, si, run, &br, qrs, nq);
			if (nfig > nrows)
				nrows = nfig;
			/* drop the index after its queries, so that the other spec's run does not
			 * share shared_buffers with it (every run rebuilds anyway) */
			if (has_index(s) && index_exists(r.c, s->index))
				db_exec(r.c, "DROP INDEX %s", s->index);
		}
	compare_report(&r, rows, nrows, runs);
	free(rows);
	end_run(&r);
	return 0;
}
