/*
 * bench_soak.c: 'soak' -- a steady write and read load on a copy of the
 * spec's table for --duration seconds, then it stops by itself:
 *   - --writers connections, each in a loop: delete a random live row and
 *     insert a row with a new id (the live rows stay at --n).  The vector
 *     inserted comes from a FIFO pool that holds the extra vectors at the
 *     start and takes in the vector of every row deleted, so no vector is
 *     alive twice and the data keeps turning over;
 *   - --readers connections: ORDER BY v <op> query LIMIT k with a random
 *     query vector, at ef_search = the first --values (--ef);
 *   - one connection: VACUUM (INDEX_CLEANUP ON) every --vacuum-interval s;
 *   - every --report-every s (and at t = 0) one line: insert and delete
 *     rates, QPS and latency percentiles of the interval, recall@k of the
 *     first --recall-queries queries (index answer and exact answer in the
 *     same REPEATABLE READ snapshot, as the pgbench sampler does; ties
 *     count), index and table size, vechnsw_index_stats() elements;
 *   - a summary over the reports after the warm-up (the first 20 % of the
 *     run): index size min/max, recall min/mean; the rows of the table
 *     against the live rows tracked; one JSON line with the series.
 * The live rows are the LiveSet of bench_write.c (under a mutex).
 */
#include "vecbench.h"

#include <endian.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

SoakSummary g_last_soak;

#define SOAK_WARMUP_FRAC 0.2

typedef struct DblVec
{
	double	   *v;
	long		n,
				cap;
} DblVec;

static void
dv_push(DblVec *d, double x)
{
	if (d->n == d->cap)
	{
		d->cap = d->cap ? d->cap * 2 : 4096;
		d->v = realloc(d->v, sizeof(double) * d->cap);
		if (!d->v)
			die("out of memory");
	}
	d->v[d->n++] = x;
}

static void
dv_append(DblVec *d, const DblVec *s)
{
	long		i;

	for (i = 0; i < s->n; i++)
		dv_push(d, s->v[i]);
}

/* p50, p95, p99 of d (sorted in place); NaN when empty */
static void
dv_pcts(DblVec *d, double *p50, double *p95, double *p99)
{
	qsort(d->v, d->n, sizeof(double), cmp_double);
	*p50 = percentile_sorted(d->v, d->n, 0.50);
	*p95 = percentile_sorted(d->v, d->n, 0.95);
	*p99 = percentile_sorted(d->v, d->n, 0.99);
}

/* what the threads share */
typedef struct Soak
{
	const Dataset *ds;
	const Spec *s;
	const char *table;
	const char *value;			/* ef_search */
	char		qsql[768];		/* the search, $1 float4[] */
	char	  **qparam;			/* binary float4[] of every query */
	int		   *qlen;
	int			stop;

	pthread_mutex_t live_mu;	/* L, pool, next_id */
	LiveSet		L;
	const float **pool;			/* FIFO of vectors not alive */
	long		pool_cap,
				pool_head,
				pool_len;
	int64_t		next_id;

	pthread_mutex_t stat_mu;	/* what follows */
	long		inserts,
				deletes,
				queries,
				errors,
				delete_missed,
				vacuums;
	double		vac_sum,
				vac_max;
	DblVec		qlat,			/* ms, of the interval */
				ilat,
				dlat;
} Soak;

/* one report line */
typedef struct SoakRow
{
	double		t;
	long		inserts,
				deletes,
				queries,
				errors,
				vacuums;		/* in the interval */
	double		ins_tps,
				del_tps,
				qps;
	double		p50,
				p95,
				p99,
				ins_p50,
				ins_p99,
				del_p50,
				del_p99;
	double		vac_max;
	double		recall;
	double		recall_s;
	long		rows;			/* tracked live rows */
	long long	index_bytes,
				table_bytes;
	long long	elements,
				live_el,
				deleted_el,
				free_el,
				heap_tids,
				unreachable;
	char		stats[600];
} SoakRow;

static void
soak_error(Soak *S, const char *what, PGconn *c)
{
	long		n;

	pthread_mutex_lock(&S->stat_mu);
	n = ++S->errors;
	pthread_mutex_unlock(&S->stat_mu);
	if (n <= 5)
		fprintf(stderr, "vecbench soak: %s: %s", what, PQerrorMessage(c));
}

static int
soak_stopped(Soak *S)
{
	return __atomic_load_n(&S->stop, __ATOMIC_RELAXED);
}

/* sleep until time t (now_sec), waking every 0.2 s to see whether the run stopped */
static void
sleep_until(Soak *S, double t)
{
	for (;;)
	{
		double		d = t - now_sec();
		struct timespec ts;

		if (d <= 0 || (S && soak_stopped(S)))
			return;
		if (d > 0.2)
			d = 0.2;
		ts.tv_sec = (time_t) d;
		ts.tv_nsec = (long) ((d - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* --read-rate / --write-rate: at most 'rate' steps per second (0: no limit) */
static void
pace(Soak *S, double *next, double rate)
{
	double		now;

	if (rate <= 0)
		return;
	now = now_sec();
	if (*next == 0 || now - *next > 1.0)
		*next = now;			/* behind by more than a second: no catching up */
	sleep_until(S, *next);
	*next += 1.0 / rate;
}

/* a connection for searches: plan mode, exact scans, ef_search */
static PGconn *
soak_connection(Soak *S)
{
	PGconn	   *c = db_connect();

	if (O.exact || !has_index(S->s))
		db_exec(c, "SET enable_indexscan = off; SET enable_bitmapscan = off");
	else
		db_exec(c, "SET enable_seqscan = off");	/* measure the index */
	if (S->value[0] && S->s->guc[0] && has_index(S->s))
		db_exec(c, "SET %s = %s", S->s->guc, S->value);
	return c;
}

typedef struct SoakThread
{
	Soak	   *S;
	int			idx;
	pthread_t	th;
} SoakThread;

static void *
reader_thread(void *arg)
{
	SoakThread *T = arg;
	Soak	   *S = T->S;
	PGconn	   *c = soak_connection(S);
	Oid			types[1] = {FLOAT4ARRAYOID};
	Rng			rng;
	double		next = 0;

	if (O.generic)
		db_exec(c, "SET plan_cache_mode = force_generic_plan");
	db_prepare(c, "q", S->qsql, 1, types);
	rng_seed(&rng, O.seed, 91, T->idx);
	while (!soak_stopped(S))
	{
		int			qi = (int) (rng_uniform(&rng) * S->ds->nq);
		const char *vals[1] = {S->qparam[qi]};
		int			lens[1] = {S->qlen[qi]},
					fmts[1] = {1};
		double		t0;
		PGresult   *r;

		pace(S, &next, O.read_rate);
		if (soak_stopped(S))
			break;
		t0 = now_sec();
		r = PQexecPrepared(c, "q", 1, vals, lens, fmts, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			soak_error(S, "search", c);
		else
		{
			double		ms = (now_sec() - t0) * 1000;

			pthread_mutex_lock(&S->stat_mu);
			S->queries++;
			dv_push(&S->qlat, ms);
			pthread_mutex_unlock(&S->stat_mu);
		}
		PQclear(r);
	}
	db_finish(c);
	return NULL;
}

/* DELETE one id (prepared "del"): rows deleted, or -1 on error */
static int
exec_delete(PGconn *c, int64_t id)
{
	uint64_t	be = htobe64((uint64_t) id);
	const char *vals[1] = {(const char *) &be};
	int			lens[1] = {8},
				fmts[1] = {1},
				n;
	PGresult   *r = PQexecPrepared(c, "del", 1, vals, lens, fmts, 0);

	n = PQresultStatus(r) == PGRES_COMMAND_OK ? atoi(PQcmdTuples(r)) : -1;
	PQclear(r);
	return n;
}

static void *
writer_thread(void *arg)
{
	SoakThread *T = arg;
	Soak	   *S = T->S;
	PGconn	   *c = db_connect();
	Oid			types[1] = {INT8OID};
	char		sql[512];
	Rng			rng;
	double		next = 0;
	int			dim = S->ds->dim;

	prepare_insert(c, "ins", S->table, S->s);
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", S->table);
	db_prepare(c, "del", sql, 1, types);
	rng_seed(&rng, O.seed, 92, T->idx);
	while (!soak_stopped(S))
	{
		int64_t		did = -1,
					nid;
		const float *dvec = NULL,
				   *ivec = NULL;
		long		got;
		double		t0,
					dms = NAN,
					ims = NAN;
		int			nd = 0,
					ok = 0;

		pace(S, &next, O.write_rate);
		if (soak_stopped(S))
			break;
		/* a live row to delete (its vector joins the pool), and the vector to insert */
		pthread_mutex_lock(&S->live_mu);
		/* keep the dead inserted rows few: pick_live draws from all and retries on dead ones */
		if (S->L.nins > 2 * S->L.n + 64)
			live_compact(&S->L);
		got = pick_live(&S->L, &rng, 1, &did, &dvec, S->ds);
		if (got != 1)
		{
			live_compact(&S->L);
			got = pick_live(&S->L, &rng, 1, &did, &dvec, S->ds);
		}
		/* insert only when a row goes: the live rows stay constant */
		if (got == 1)
		{
			S->pool[(S->pool_head + S->pool_len++) % S->pool_cap] = dvec;
			ivec = S->pool[S->pool_head];
			S->pool_head = (S->pool_head + 1) % S->pool_cap;
			S->pool_len--;
		}
		nid = S->next_id++;
		pthread_mutex_unlock(&S->live_mu);

		if (got == 1)
		{
			t0 = now_sec();
			nd = exec_delete(c, did);
			dms = (now_sec() - t0) * 1000;
			if (nd < 0)
				soak_error(S, "delete", c);
		}
		if (ivec)
		{
			t0 = now_sec();
			ok = exec_insert(c, "ins", nid, ivec, dim);
			ims = (now_sec() - t0) * 1000;
			pthread_mutex_lock(&S->live_mu);
			if (ok)
				live_add(&S->L, nid, ivec);
			else				/* back to the pool */
				S->pool[(S->pool_head + S->pool_len++) % S->pool_cap] = ivec;
			pthread_mutex_unlock(&S->live_mu);
			if (!ok)
				soak_error(S, "insert", c);
		}
		pthread_mutex_lock(&S->stat_mu);
		if (nd > 0)
		{
			S->deletes++;
			dv_push(&S->dlat, dms);
		}
		else if (nd == 0 && got == 1)
			S->delete_missed++;
		if (ok)
		{
			S->inserts++;
			dv_push(&S->ilat, ims);
		}
		pthread_mutex_unlock(&S->stat_mu);
	}
	db_finish(c);
	return NULL;
}

static void *
vacuum_thread(void *arg)
{
	SoakThread *T = arg;
	Soak	   *S = T->S;
	PGconn	   *c = db_connect();
	char		sql[512];
	double		next = now_sec() + O.vacuum_interval;

	snprintf(sql, sizeof(sql), "VACUUM (INDEX_CLEANUP ON) %s", S->table);
	for (;;)
	{
		double		t0,
					d;
		PGresult   *r;

		sleep_until(S, next);
		if (soak_stopped(S))
			break;
		t0 = now_sec();
		r = PQexec(c, sql);
		d = now_sec() - t0;
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			soak_error(S, "VACUUM", c);
		else
		{
			pthread_mutex_lock(&S->stat_mu);
			S->vacuums++;
			S->vac_sum += d;
			if (d > S->vac_max)
				S->vac_max = d;
			pthread_mutex_unlock(&S->stat_mu);
		}
		PQclear(r);
		next = now_sec() + O.vacuum_interval;
	}
	db_finish(c);
	return NULL;
}

/* ids (and distances) of a text result: column 0 id, column 1 distance (optional) */
static int
result_ids(PGresult *r, int64_t *ids, float *d, int max)
{
	int			i,
				n = PQntuples(r);

	for (i = 0; i < n && i < max; i++)
	{
		ids[i] = atoll(PQgetvalue(r, i, 0));
		if (d)
			d[i] = (float) strtod(PQgetvalue(r, i, 1), NULL);
	}
	return i;
}

/*
 * recall@k of queries 0..nq-1: the search and the exact answer (index scans
 * off, top k + 10 with distances, ties count) in one REPEATABLE READ
 * transaction each.  NaN when nq is 0 or on error.
 */
static double
sample_recall(PGconn *c, Soak *S, int nq)
{
	char		ann[768],
				exact[768];
	int			kx = O.k + 10 < GT_K ? O.k + 10 : GT_K,
				i;
	double		sum = 0;
	int64_t		res[GT_K],
				ex[GT_K];
	float		exd[GT_K];
	Oid			types[1] = {FLOAT4ARRAYOID};

	if (nq <= 0)
		return NAN;
	snprintf(ann, sizeof(ann), "%s", S->qsql);
	snprintf(exact, sizeof(exact), "SELECT id, (v %s %s)::float8 FROM %s ORDER BY v %s %s LIMIT %d",
			 metric_ops[S->ds->metric], S->s->param, S->table, metric_ops[S->ds->metric], S->s->param, kx);
	for (i = 0; i < nq; i++)
	{
		int			qi = i % S->ds->nq,
					nres,
					nex;
		const char *vals[1] = {S->qparam[qi]};
		int			lens[1] = {S->qlen[qi]},
					fmts[1] = {1};
		PGresult   *r;

		if (!db_try(c, 0, "BEGIN ISOLATION LEVEL REPEATABLE READ"))
			return NAN;
		r = PQexecParams(c, ann, 1, types, vals, lens, fmts, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			soak_error(S, "sampled search", c);
			PQclear(r);
			db_try(c, 1, "ROLLBACK");
			return NAN;
		}
		nres = result_ids(r, res, NULL, O.k);
		PQclear(r);
		db_exec(c, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off; "
				"SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off");
		r = PQexecParams(c, exact, 1, types, vals, lens, fmts, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			soak_error(S, "exact search", c);
			PQclear(r);
			db_try(c, 1, "ROLLBACK");
			return NAN;
		}
		nex = result_ids(r, ex, exd, kx);
		PQclear(r);
		db_exec(c, "COMMIT");
		sum += recall_at(res, nres, ex, exd, nex, O.k);
	}
	return sum / nq;
}

/* a member of a JSON object text ("key":number), -1 when absent */
static long long
json_member(const char *json, const char *key)
{
	char		pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

/* sizes and index elements now */
static void
soak_sizes(PGconn *c, Soak *S, const char *index, SoakRow *row)
{
	int			idx = has_index(S->s) && index_exists(c, index);

	row->index_bytes = idx ? db_int(c, "SELECT pg_relation_size('%s')", index) : 0;
	row->table_bytes = db_int(c, "SELECT pg_table_size('%s')", S->table);
	row->stats[0] = 0;
	row->elements = row->live_el = row->deleted_el = row->free_el = row->heap_tids = row->unreachable = -1;
	if (idx && strcmp(S->s->am, "vechnsw") == 0)
	{
		char	   *st = db_value(c, "SELECT row_to_json(s)::text FROM vechnsw_index_stats('%s') s", index);

		if (st)
		{
			snprintf(row->stats, sizeof(row->stats), "%s", st);
			row->elements = json_member(st, "elements");
			row->live_el = json_member(st, "live_elements");
			row->deleted_el = json_member(st, "deleted_elements");
			row->free_el = json_member(st, "free_elements");
			row->heap_tids = json_member(st, "heap_tids");
			row->unreachable = json_member(st, "unreachable_elements");
			free(st);
		}
	}
	pthread_mutex_lock(&S->live_mu);
	row->rows = live_count(&S->L);
	pthread_mutex_unlock(&S->live_mu);
}

static void
print_header(void)
{
	printf("%7s %7s %7s %7s %7s %7s %7s %6s %9s %8s %7s %7s %6s %6s %5s %4s %6s %4s\n", "t s", "ins/s", "del/s",
		   "qps", "p50 ms", "p95 ms", "p99 ms", "R@k", "index MB", "table MB", "rows", "live el", "del el",
		   "free", "unrch", "vac", "vac s", "err");
}

/* -1 (not measured) as "-" */
static const char *
fmt_count(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", v);
	return buf;
}

static const char *
fmt_dbl(char *buf, size_t len, const char *fmt, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

static void
print_row(const SoakRow *r)
{
	char		a[32],
				b[32],
				c[32],
				d[32],
				e[32],
				f[32],
				g[32],
				h[32],
				i[32];

	printf("%7.0f %7.1f %7.1f %7.1f %7s %7s %7s %6s %9.1f %8.1f %7ld %7s %6s %6s %5s %4ld %6s %4ld\n", r->t,
		   r->ins_tps, r->del_tps, r->qps, fmt_dbl(a, 32, "%.2f", r->p50), fmt_dbl(b, 32, "%.2f", r->p95),
		   fmt_dbl(c, 32, "%.2f", r->p99), fmt_dbl(d, 32, "%.4f", r->recall), r->index_bytes / 1048576.0,
		   r->table_bytes / 1048576.0, r->rows, fmt_count(e, 32, r->live_el), fmt_count(f, 32, r->deleted_el),
		   fmt_count(g, 32, r->free_el), fmt_count(h, 32, r->unreachable), r->vacuums,
		   fmt_dbl(i, 32, "%.1f", r->vacuums ? r->vac_max : NAN), r->errors);
	fflush(stdout);
}

static void
json_row(Json *j, const SoakRow *r)
{
	j_obj(j, NULL);
	j_num(j, "t", r->t);
	j_int(j, "inserts", r->inserts);
	j_int(j, "deletes", r->deletes);
	j_int(j, "queries", r->queries);
	j_num(j, "insert_tps", r->ins_tps);
	j_num(j, "delete_tps", r->del_tps);
	j_num(j, "qps", r->qps);
	j_num(j, "p50_ms", r->p50);
	j_num(j, "p95_ms", r->p95);
	j_num(j, "p99_ms", r->p99);
	j_num(j, "insert_p50_ms", r->ins_p50);
	j_num(j, "insert_p99_ms", r->ins_p99);
	j_num(j, "delete_p50_ms", r->del_p50);
	j_num(j, "delete_p99_ms", r->del_p99);
	j_num(j, "recall", r->recall);
	j_num(j, "recall_seconds", r->recall_s);
	j_int(j, "vacuums", r->vacuums);
	j_num(j, "vacuum_max_seconds", r->vacuums ? r->vac_max : NAN);
	j_int(j, "errors", r->errors);
	j_int(j, "live_rows", r->rows);
	j_int(j, "index_bytes", r->index_bytes);
	j_int(j, "table_bytes", r->table_bytes);
	if (r->stats[0])
		j_raw(j, "index_stats", r->stats);
	j_end(j);
}

/* the soak of one spec */
static void
soak_spec(PGconn *c, const Dataset *ds, const Spec *s)
{
	char		wt[300],
				widx[200],
				values[MAXLIST][64];
	Soak	   *S = xcalloc(1, sizeof(Soak));
	SoakThread *th;
	SoakRow    *rows;
	BuildResult br;
	PGconn	   *sc;
	int			nth = 0,
				nrows = 0,
				maxrows = O.duration / O.report_every + 3,
				i,
				nw = 0,
				nafter = 0,
				rq = O.recall_queries;
	long		prev_ins = 0,
				prev_del = 0,
				prev_q = 0,
				prev_err = 0,
				prev_vac = 0;
	double		t0,
				prev_t,
				warm = SOAK_WARMUP_FRAC * O.duration,
				rsum = 0;
	DblVec		all_q = {0},
				all_i = {0},
				all_d = {0};
	Json		j;
	SoakSummary *sum = &g_last_soak;

	memset(sum, 0, sizeof(*sum));
	ensure_spec_tables(c, ds, s);
	work_table_names(s, "s", wt, sizeof(wt), widx, sizeof(widx));
	sweep_values(s, values);
	if (rq > ds->nq)
		rq = ds->nq;
	printf("== soak: %s on %s (copy of %s), %d s: %d writer%s (delete + insert%s), %d reader%s (LIMIT %d, %s=%s%s), "
		   "VACUUM every %g s, recall@%d of %d queries per report, a report every %d s\n", s->label, wt, s->table,
		   O.duration, O.writers, O.writers == 1 ? "" : "s", O.write_rate > 0 ? ", rate-limited" : "", O.readers,
		   O.readers == 1 ? "" : "s", O.k, O.exact ? "exact" : (s->guc[0] ? s->guc : "-"),
		   values[0][0] ? values[0] : "-", O.read_rate > 0 ? ", rate-limited" : "", O.vacuum_interval, O.k, rq,
		   O.report_every);
	work_table(c, ds, s, wt, widx, &br);

	S->ds = ds;
	S->s = s;
	S->table = wt;
	S->value = values[0];
	snprintf(S->qsql, sizeof(S->qsql), "SELECT id FROM %s ORDER BY v %s %s LIMIT %d", wt, metric_ops[ds->metric],
			 s->param, O.k);
	S->qparam = xmalloc(sizeof(char *) * ds->nq);
	S->qlen = xmalloc(sizeof(int) * ds->nq);
	for (i = 0; i < ds->nq; i++)
	{
		PQExpBufferData b;

		initPQExpBuffer(&b);
		append_float_array(&b, ds->query + (size_t) i * ds->dim, ds->dim);
		buf_check(&b);
		S->qparam[i] = b.data;
		S->qlen[i] = (int) b.len;
	}
	pthread_mutex_init(&S->live_mu, NULL);
	pthread_mutex_init(&S->stat_mu, NULL);
	live_init(&S->L, ds->n);
	S->pool_cap = ds->n + ds->nextra + O.writers + 16;
	S->pool = xmalloc(sizeof(float *) * S->pool_cap);
	for (i = 0; i < ds->nextra; i++)
		S->pool[S->pool_len++] = ds->extra + (size_t) i * ds->dim;
	S->next_id = ds->n;
	rows = xcalloc(maxrows, sizeof(SoakRow));

	/* t = 0: before the load */
	sc = soak_connection(S);
	print_header();
	rows[0].t = 0;
	rows[0].p50 = rows[0].p95 = rows[0].p99 = NAN;
	rows[0].ins_p50 = rows[0].ins_p99 = rows[0].del_p50 = rows[0].del_p99 = NAN;
	soak_sizes(sc, S, widx, &rows[0]);
	prev_t = now_sec();
	rows[0].recall = sample_recall(sc, S, rq);
	rows[0].recall_s = now_sec() - prev_t;
	print_row(&rows[0]);
	nrows = 1;

	th = xcalloc(O.writers + O.readers + 1, sizeof(SoakThread));
	for (i = 0; i < O.writers; i++, nth++)
	{
		th[nth].S = S;
		th[nth].idx = i;
		pthread_create(&th[nth].th, NULL, writer_thread, &th[nth]);
	}
	for (i = 0; i < O.readers; i++, nth++)
	{
		th[nth].S = S;
		th[nth].idx = i;
		pthread_create(&th[nth].th, NULL, reader_thread, &th[nth]);
	}
	if (O.vacuum_interval > 0)
	{
		th[nth].S = S;
		pthread_create(&th[nth].th, NULL, vacuum_thread, &th[nth]);
		nth++;
	}
	t0 = prev_t = now_sec();
	for (i = 1; nrows < maxrows; i++)
	{
		double		due = (double) i * O.report_every,
					now,
					span,
					r0;
		SoakRow    *r = &rows[nrows];
		DblVec		ql,
					il,
					dl;
		int			last;

		if (due > O.duration)
			due = O.duration;
		last = due >= O.duration;
		sleep_until(NULL, t0 + due);
		/* the interval's counters and latencies */
		pthread_mutex_lock(&S->stat_mu);
		now = now_sec();
		r->inserts = S->inserts - prev_ins;
		r->deletes = S->deletes - prev_del;
		r->queries = S->queries - prev_q;
		r->errors = S->errors - prev_err;
		r->vacuums = S->vacuums - prev_vac;
		r->vac_max = S->vac_max;
		prev_ins = S->inserts;
		prev_del = S->deletes;
		prev_q = S->queries;
		prev_err = S->errors;
		prev_vac = S->vacuums;
		S->vac_max = 0;
		ql = S->qlat;
		il = S->ilat;
		dl = S->dlat;
		memset(&S->qlat, 0, sizeof(DblVec));
		memset(&S->ilat, 0, sizeof(DblVec));
		memset(&S->dlat, 0, sizeof(DblVec));
		pthread_mutex_unlock(&S->stat_mu);
		if (last)				/* the load stops with the last interval */
			__atomic_store_n(&S->stop, 1, __ATOMIC_RELAXED);
		r->t = now - t0;
		span = now - prev_t;
		prev_t = now;
		r->ins_tps = rows_per_s(r->inserts, span);
		r->del_tps = rows_per_s(r->deletes, span);
		r->qps = rows_per_s(r->queries, span);
		dv_pcts(&ql, &r->p50, &r->p95, &r->p99);
		dv_pcts(&il, &r->ins_p50, &r->ins_p99, &r->ins_p99);
		dv_pcts(&dl, &r->del_p50, &r->del_p99, &r->del_p99);
		dv_append(&all_q, &ql);
		dv_append(&all_i, &il);
		dv_append(&all_d, &dl);
		free(ql.v);
		free(il.v);
		free(dl.v);
		if (last)
			for (nw = 0; nw < nth; nw++)
				pthread_join(th[nw].th, NULL);
		/* sizes and the recall sample: under the load (after it for the last line) */
		soak_sizes(sc, S, widx, r);
		r0 = now_sec();
		r->recall = sample_recall(sc, S, rq);
		r->recall_s = now_sec() - r0;
		print_row(r);
		nrows++;
		if (last)
			break;
	}
	if (nw < nth)				/* (not reached: the last interval joins) */
		for (; nw < nth; nw++)
		{
			__atomic_store_n(&S->stop, 1, __ATOMIC_RELAXED);
			pthread_join(th[nw].th, NULL);
		}

	/* summary after the warm-up */
	sum->reports = nrows;
	sum->inserts = S->inserts;
	sum->deletes = S->deletes;
	sum->queries = S->queries;
	sum->errors = S->errors;
	sum->delete_missed = S->delete_missed;
	sum->rows_tracked = live_count(&S->L);
	sum->rows_table = db_int(c, "SELECT count(*) FROM %s", wt);
	sum->recall_min = NAN;
	sum->size_min = -1;
	sum->size_max = -1;
	for (i = 1; i < nrows; i++)
	{
		if (rows[i].t < warm)
			continue;
		nafter++;
		if (sum->size_min < 0 || rows[i].index_bytes < sum->size_min)
			sum->size_min = rows[i].index_bytes;
		if (rows[i].index_bytes > sum->size_max)
			sum->size_max = rows[i].index_bytes;
		if (!isnan(rows[i].recall))
		{
			if (isnan(sum->recall_min) || rows[i].recall < sum->recall_min)
				sum->recall_min = rows[i].recall;
			rsum += rows[i].recall;
		}
	}
	{
		int			nrec = 0;

		for (i = 1; i < nrows; i++)
			if (rows[i].t >= warm && !isnan(rows[i].recall))
				nrec++;
		sum->recall_mean = nrec ? rsum / nrec : NAN;
	}
	{
		double		p50,
					p95,
					p99,
					ip50,
					ip99,
					dp50,
					dp99,
					x;
		double		wall = rows[nrows - 1].t;

		dv_pcts(&all_q, &p50, &p95, &p99);
		dv_pcts(&all_i, &ip50, &x, &ip99);
		dv_pcts(&all_d, &dp50, &x, &dp99);
		printf("soak: %.0f s: %ld inserts (%.1f/s, p50 %.2f ms, p99 %.2f ms), %ld deletes (%.1f/s, p50 %.2f ms, "
			   "p99 %.2f ms), %ld searches (%.1f/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms), %ld VACUUMs "
			   "(mean %.1f s), %ld errors\n", wall, S->inserts, rows_per_s(S->inserts, wall), ip50, ip99,
			   S->deletes, rows_per_s(S->deletes, wall), dp50, dp99, S->queries, rows_per_s(S->queries, wall),
			   p50, p95, p99, S->vacuums, S->vacuums ? S->vac_sum / S->vacuums : 0.0, S->errors);
		printf("soak: after warm-up (t >= %.0f s, %d reports): index %.1f .. %.1f MB (max/min %.3f), "
			   "recall@%d min %.4f mean %.4f; at t = 0: index %.1f MB, recall@%d %.4f\n", warm, nafter,
			   sum->size_min / 1048576.0, sum->size_max / 1048576.0,
			   sum->size_min > 0 ? (double) sum->size_max / sum->size_min : NAN, O.k, sum->recall_min,
			   sum->recall_mean, rows[0].index_bytes / 1048576.0, O.k, rows[0].recall);
		printf("soak: rows: table %ld, tracked %ld%s; deletes that found no row: %ld\n", sum->rows_table,
			   sum->rows_tracked, sum->rows_table == sum->rows_tracked ? "" : " (MISMATCH)", sum->delete_missed);

		meta_refresh_extensions(c);
		json_run_begin(&j, "soak", ds, s);
		j_str(&j, "table", wt);
		j_str(&j, "ef_search", values[0]);
		j_obj(&j, "build");
		json_build(&j, &br);
		j_end(&j);
		j_arr(&j, "series");
		for (i = 0; i < nrows; i++)
			json_row(&j, &rows[i]);
		j_end(&j);
		j_obj(&j, "summary");
		j_num(&j, "seconds", wall);
		j_num(&j, "warmup_seconds", warm);
		j_int(&j, "reports_after_warmup", nafter);
		j_int(&j, "index_bytes_min_after_warmup", sum->size_min);
		j_int(&j, "index_bytes_max_after_warmup", sum->size_max);
		j_num(&j, "recall_min_after_warmup", sum->recall_min);
		j_num(&j, "recall_mean_after_warmup", sum->recall_mean);
		j_int(&j, "inserts", S->inserts);
		j_int(&j, "deletes", S->deletes);
		j_int(&j, "queries", S->queries);
		j_int(&j, "vacuums", S->vacuums);
		j_num(&j, "vacuum_mean_seconds", S->vacuums ? S->vac_sum / S->vacuums : NAN);
		j_num(&j, "qps", rows_per_s(S->queries, wall));
		j_num(&j, "p50_ms", p50);
		j_num(&j, "p95_ms", p95);
		j_num(&j, "p99_ms", p99);
		j_num(&j, "insert_p50_ms", ip50);
		j_num(&j, "insert_p99_ms", ip99);
		j_num(&j, "delete_p50_ms", dp50);
		j_num(&j, "delete_p99_ms", dp99);
		j_int(&j, "errors", S->errors);
		j_int(&j, "deletes_without_row", S->delete_missed);
		j_int(&j, "rows_table", sum->rows_table);
		j_int(&j, "rows_tracked", sum->rows_tracked);
		j_end(&j);
		json_run_end(&j);
	}

	db_finish(sc);
	if (!O.force)
		db_exec(c, "DROP TABLE IF EXISTS %s", wt);
	for (i = 0; i < ds->nq; i++)
		free(S->qparam[i]);
	free(S->qparam);
	free(S->qlen);
	free(S->pool);
	free(S->qlat.v);
	free(S->ilat.v);
	free(S->dlat.v);
	free(all_q.v);
	free(all_i.v);
	free(all_d.v);
	live_free(&S->L);
	pthread_mutex_destroy(&S->live_mu);
	pthread_mutex_destroy(&S->stat_mu);
	free(rows);
	free(th);
	free(S);
}

int
cmd_soak(void)
{
	Run			r;
	int			si,
				bad = 0;

	run_data(&r, 0);
	if (r.ds.streamed)
		die("soak: not for a streamed data set (its reinsert pool takes the deleted rows' vectors from memory "
			"and it works on a copy of the table; --no-stream holds the base vectors in memory)");
	run_connect(&r);
	for (si = 0; si < r.nspec; si++)
	{
		soak_spec(r.c, &r.ds, &r.specs[si]);
		if (g_last_soak.errors || g_last_soak.delete_missed || g_last_soak.rows_table != g_last_soak.rows_tracked)
			bad = 1;
	}
	end_run(&r);
	return bad;
}
