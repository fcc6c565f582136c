/*
 * bench_write.c: the write paths, shared with bench_churn.c, and 'write'.
 *   - the live set: which base rows and inserted rows are alive, so that the
 *     exact answer after deletes and inserts can be computed (and reused
 *     while the set does not change);
 *   - a work table per spec (a copy of its table, with its index);
 *   - inserts over N connections (batch sizes), deletes (int8[] per
 *     statement), VACUUM, reinserts in one session;
 *   - recall against the rows alive;
 *   - 'write': inserts, delete + VACUUM, delete + reinsert cycles, recall
 *     after each.
 */
#include "vecbench.h"

#include <endian.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

WriteSummary g_last_write;

/* ------------------------------------------------------------------------
 * the live set
 * ------------------------------------------------------------------------ */

void
live_init(LiveSet *L, long n)
{
	memset(L, 0, sizeof(*L));
	L->n = n;
	L->base_alive = xmalloc(n);
	memset(L->base_alive, 1, n);
}

void
live_free(LiveSet *L)
{
	free(L->base_alive);
	free(L->ins_id);
	free(L->ins_vec);
	free(L->ins_alive);
	while (L->nowned > 0)
		free(L->owned[--L->nowned]);
	free(L->owned);
}

void
live_add(LiveSet *L, int64_t id, const float *v)
{
	if (L->nins == L->cap)
	{
		L->cap = L->cap ? L->cap * 2 : 1024;
		L->ins_id = realloc(L->ins_id, sizeof(int64_t) * L->cap);
		L->ins_vec = realloc(L->ins_vec, sizeof(float *) * L->cap);
		L->ins_alive = realloc(L->ins_alive, L->cap);
		if (!L->ins_id || !L->ins_vec || !L->ins_alive)
			die("out of memory");
	}
	L->ins_id[L->nins] = id;
	L->ins_vec[L->nins] = v;
	L->ins_alive[L->nins] = 1;
	L->nins++;
}

/* drop the dead inserted rows from the lists (a long run inserts without end; pick_live
 * draws from base + inserted rows and retries on dead ones) */
void
live_compact(LiveSet *L)
{
	long		i,
				o = 0;

	for (i = 0; i < L->nins; i++)
		if (L->ins_alive[i])
		{
			L->ins_id[o] = L->ins_id[i];
			L->ins_vec[o] = L->ins_vec[i];
			L->ins_alive[o] = 1;
			o++;
		}
	L->nins = o;
}

long
live_count(const LiveSet *L)
{
	long		cnt = 0,
				i;

	for (i = 0; i < L->n; i++)
		cnt += L->base_alive[i];
	for (i = 0; i < L->nins; i++)
		cnt += L->ins_alive[i];
	return cnt;
}

/* identity of the live set (ids and vectors alive): a ground truth computed for it can be reused */
uint64_t
live_hash(const LiveSet *L)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL,
				x;
	long		i;

	for (i = 0; i < L->n; i++)
		if (L->base_alive[i])
		{
			x = (uint64_t) i;
			h = (h ^ splitmix64(&x)) * 0x100000001b3ULL;
		}
	for (i = 0; i < L->nins; i++)
		if (L->ins_alive[i])
		{
			x = (uint64_t) L->ins_id[i] ^ ((uint64_t) (uintptr_t) L->ins_vec[i] << 17);
			h = (h ^ splitmix64(&x)) * 0x100000001b3ULL;
		}
	return h;
}

/*
 * exact answers of the first nq queries over the rows alive: one pass over
 * the base rows (held, or streamed in chunks: gt_acc_base), skipping the
 * dead ones, then the inserted rows alive, into one running top-K (the same
 * answer for either).  A streamed set with nothing deleted or inserted yet:
 * the cached ground truth of the data set, without a pass.
 */
void
live_gt(const Dataset *ds, const LiveSet *L, int nq, GroundTruth *gt)
{
	long		cnt = live_count(L),
				nins = 0,
				i,
				o = 0;
	float	   *vec;
	int64_t    *ids;
	double		t0 = now_sec();
	GtAcc	   *a;

	if (ds->streamed && L->nins == 0 && cnt == L->n)
	{
		GroundTruth full;

		gt_get(ds, &full);
		gt->nq = nq;
		gt->K = full.K;
		gt->ids = xmalloc(sizeof(int64_t) * (size_t) nq * full.K);
		gt->dist = xmalloc(sizeof(float) * (size_t) nq * full.K);
		memcpy(gt->ids, full.ids, sizeof(int64_t) * (size_t) nq * full.K);
		memcpy(gt->dist, full.dist, sizeof(float) * (size_t) nq * full.K);
		gt->cached = full.cached;
		gt->seconds = full.seconds;
		gt_free(&full);
		return;
	}
	if (ds->streamed && !O.quiet)
		fprintf(stderr, "exact answers of %d queries over the %ld rows alive (one streaming pass)...\n", nq, cnt);
	a = gt_acc_begin(ds->query, nq, ds->dim, ds->metric, GT_K);
	gt_acc_base(a, ds, L->base_alive, "exact (rows alive)");
	for (i = 0; i < L->nins; i++)
		nins += L->ins_alive[i];
	vec = xmalloc(sizeof(float) * (nins ? nins : 1) * ds->dim);
	ids = xmalloc(sizeof(int64_t) * (nins ? nins : 1));
	for (i = 0; i < L->nins; i++)
		if (L->ins_alive[i])
		{
			memcpy(vec + (size_t) o * ds->dim, L->ins_vec[i], sizeof(float) * ds->dim);
			ids[o++] = L->ins_id[i];
		}
	gt_acc_add(a, vec, ids, 0, nins, NULL);
	gt_acc_end(a, gt);
	gt->seconds = now_sec() - t0;
	free(vec);
	free(ids);
}

/*
 * the vectors of rows picked from a streamed data set (pick_live gives NULL
 * for a base row): generated into a block the live set keeps
 */
void
live_materialize(LiveSet *L, const Dataset *ds, const int64_t *ids, const float **vecs, long n)
{
	long		i,
				m = 0;
	int64_t    *need = xmalloc(sizeof(int64_t) * (n ? n : 1));
	float	   *block;

	for (i = 0; i < n; i++)
		if (!vecs[i])
			need[m++] = ids[i];
	if (m == 0)
	{
		free(need);
		return;
	}
	block = xmalloc(sizeof(float) * (size_t) m * ds->dim);
	dataset_base_ids(ds, need, m, block);
	for (i = 0, m = 0; i < n; i++)
		if (!vecs[i])
			vecs[i] = block + (size_t) (m++) * ds->dim;
	L->owned = realloc(L->owned, sizeof(float *) * (L->nowned + 1));
	if (!L->owned)
		die("out of memory");
	L->owned[L->nowned++] = block;
	free(need);
}

/* choose m live rows at random; fills ids and marks them dead; returns count */
long
pick_live(LiveSet *L, Rng *r, long m, int64_t *ids, const float **vecs, const Dataset *ds)
{
	long		total = L->n + L->nins,
				got = 0,
				tries = 0;

	while (got < m && tries < m * 50)
	{
		long		x = (long) (rng_uniform(r) * total);

		tries++;
		if (x < L->n)
		{
			if (!L->base_alive[x])
				continue;
			L->base_alive[x] = 0;
			ids[got] = x;
			/* a streamed data set: live_materialize generates it when needed */
			vecs[got] = ds->base ? ds->base + (size_t) x * ds->dim : NULL;
		}
		else
		{
			x -= L->n;
			if (!L->ins_alive[x])
				continue;
			L->ins_alive[x] = 0;
			ids[got] = L->ins_id[x];
			vecs[got] = L->ins_vec[x];
		}
		got++;
	}
	return got;
}

/* ------------------------------------------------------------------------
 * the work table of a spec: TABLE_SUFFIX, a copy of the spec's table with
 * a primary key and the spec's index, autovacuum off
 * ------------------------------------------------------------------------ */

void
work_table(PGconn *c, const Dataset *ds, const Spec *s, const char *wt, const char *widx, BuildResult *br)
{
	db_exec(c, "DROP TABLE IF EXISTS %s", wt);
	db_exec(c, "CREATE TABLE %s (LIKE %s INCLUDING ALL)", wt, s->table);
	db_exec(c, "ALTER TABLE %s SET (autovacuum_enabled = off)", wt);
	db_exec(c, "INSERT INTO %s SELECT * FROM %s", wt, s->table);
	drop_vector_indexes(c, wt);
	db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (id)", wt);
	db_exec(c, "VACUUM (ANALYZE) %s", wt);
	memset(br, 0, sizeof(*br));
	if (has_index(s))
	{
		build_index(c, s, wt, widx, ds->n, br);
		print_build(s, wt, br);
	}
}

void
work_table_names(const Spec *s, const char *suffix, char *wt, size_t wtlen, char *widx, size_t widxlen)
{
	snprintf(wt, wtlen, "%s_%s", s->table, suffix);
	snprintf(widx, widxlen, "%.40s_%.16s_idx", wt, s->am);
}

/* ------------------------------------------------------------------------
 * inserts, deletes, VACUUM
 * ------------------------------------------------------------------------ */

/* prepare stmt: INSERT INTO table (id, v) VALUES ($1 int8, $2 float4[] cast to the spec's type) */
void
prepare_insert(PGconn *c, const char *stmt, const char *table, const Spec *s)
{
	char		sql[640];
	Oid			types[2] = {INT8OID, FLOAT4ARRAYOID};

	/* s->param is "$1" or "$1::real[]::TYPE": reuse its cast for $2 */
	snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES ($1, $2%s)", table, s->param + 2);
	db_prepare(c, stmt, sql, 2, types);
}

/* one row through a statement of prepare_insert; 0 on failure (see PQerrorMessage) */
int
exec_insert(PGconn *c, const char *stmt, int64_t id, const float *v, int dim)
{
	uint64_t	idbe = htobe64((uint64_t) id);
	PQExpBufferData b;
	const char *vals[2];
	int			lens[2],
				fmts[2] = {1, 1},
				ok;
	PGresult   *r;

	initPQExpBuffer(&b);
	append_float_array(&b, v, dim);
	buf_check(&b);
	vals[0] = (const char *) &idbe;
	lens[0] = 8;
	vals[1] = b.data;
	lens[1] = (int) b.len;
	r = PQexecPrepared(c, stmt, 2, vals, lens, fmts, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	termPQExpBuffer(&b);
	return ok;
}

typedef struct InsJob
{
	const Dataset *ds;
	const Spec *s;
	const char *table;
	int			batch;
	long		nbatches;
	long		next;
	int64_t		id0;			/* first id */
	long		xoff;			/* first extra vector */
	double	   *lat;			/* per batch */
	int			failed;
	char		err[512];
} InsJob;

static void *
insert_thread(void *arg)
{
	InsJob	   *J = arg;
	PGconn	   *c = db_connect();
	int			dim = J->ds->dim;

	prepare_insert(c, "ins", J->table, J->s);
	for (;;)
	{
		long		bi = __atomic_fetch_add(&J->next, 1, __ATOMIC_RELAXED);
		double		t0;
		int			i;

		if (bi >= J->nbatches || J->failed)
			break;
		t0 = now_sec();
		if (J->batch > 1)
			db_exec(c, "BEGIN");
		for (i = 0; i < J->batch; i++)
		{
			long		row = bi * J->batch + i;
			long		xi = (J->xoff + row) % (J->ds->nextra > 0 ? J->ds->nextra : 1);

			if (!exec_insert(c, "ins", J->id0 + row, J->ds->extra + (size_t) xi * dim, dim))
			{
				if (!__atomic_exchange_n(&J->failed, 1, __ATOMIC_SEQ_CST))
					snprintf(J->err, sizeof(J->err), "insert: %s", PQerrorMessage(c));
				break;
			}
		}
		if (J->batch > 1)
			db_exec(c, "COMMIT");
		J->lat[bi] = (now_sec() - t0) * 1000;
	}
	db_finish(c);
	return NULL;
}

typedef struct InsResult
{
	int			batch;
	long		rows;
	double		seconds,
				rows_per_s,
				commit_p50,
				commit_p99;
} InsResult;

/* insert rows (extra vectors, ids from id0) with 'batch' rows per commit over 'clients' connections */
static void
insert_rows(const Dataset *ds, const Spec *s, const char *table, int64_t id0, long xoff, long rows, int batch,
			int clients, InsResult *ir)
{
	InsJob		J;
	pthread_t	th[64];
	int			i;
	double		t0;

	memset(&J, 0, sizeof(J));
	J.ds = ds;
	J.s = s;
	J.table = table;
	J.batch = batch;
	J.nbatches = (rows + batch - 1) / batch;
	J.id0 = id0;
	J.xoff = xoff;
	J.lat = xcalloc(J.nbatches, sizeof(double));
	if (clients > 64)
		clients = 64;
	t0 = now_sec();
	for (i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, insert_thread, &J);
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	if (J.failed)
		die("%s", J.err);
	ir->batch = batch;
	ir->rows = J.nbatches * batch;
	ir->seconds = now_sec() - t0;
	ir->rows_per_s = ir->rows / ir->seconds;
	qsort(J.lat, J.nbatches, sizeof(double), cmp_double);
	ir->commit_p50 = percentile_sorted(J.lat, J.nbatches, 0.5);
	ir->commit_p99 = percentile_sorted(J.lat, J.nbatches, 0.99);
	free(J.lat);
}

/* delete the given ids, batch ids per statement (and commit) */
double
delete_ids(PGconn *c, const char *table, const int64_t *ids, long n, int batch)
{
	double		t0 = now_sec();
	long		i;
	char		sql[320];
	PGresult   *r;
	Oid			types[1] = {INT8ARRAYOID};

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ANY($1)", table);
	db_prepare(c, "del", sql, 1, types);
	for (i = 0; i < n; i += batch)
	{
		PQExpBufferData b;
		const char *vals[1];
		int			lens[1],
					fmts[1] = {1};

		initPQExpBuffer(&b);
		append_int8_array(&b, ids + i, n - i < batch ? n - i : batch);
		buf_check(&b);
		vals[0] = b.data;
		lens[0] = (int) b.len;
		r = PQexecPrepared(c, "del", 1, vals, lens, fmts, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		termPQExpBuffer(&b);
	}
	r = PQexec(c, "DEALLOCATE del");
	PQclear(r);
	return now_sec() - t0;
}

/* rows per second; no division by 0 */
double
rows_per_s(long rows, double seconds)
{
	return rows / (seconds > 0 ? seconds : 1e-9);
}

double
timed_vacuum(PGconn *c, const char *table)
{
	double		t0 = now_sec();

	db_exec(c, "VACUUM (INDEX_CLEANUP ON) %s", table);
	return now_sec() - t0;
}

/*
 * insert vecs[0..n) again with new ids from *next_id over c (one session),
 * 'batch' rows per commit (1: autocommit), and add them to the live set;
 * returns the seconds.  label: progress bar, or NULL for none.
 */
double
reinsert_rows(PGconn *c, const Dataset *ds, const Spec *s, const char *table, const float **vecs, long n,
			  int batch, int64_t *next_id, LiveSet *L, const char *label)
{
	double		t0,
				secs;
	long		r;
	Progress	p;

	prepare_insert(c, "reins", table, s);
	if (batch < 1)
		batch = 1;
	if (label)
		progress_start(&p, label);
	t0 = now_sec();
	if (batch > 1)
		db_exec(c, "BEGIN");
	for (r = 0; r < n; r++)
	{
		if (!exec_insert(c, "reins", *next_id, vecs[r], ds->dim))
			die("reinsert: %s", PQerrorMessage(c));
		live_add(L, *next_id, vecs[r]);
		(*next_id)++;
		if (batch > 1 && (r + 1) % batch == 0 && r + 1 < n)
		{
			db_exec(c, "COMMIT");
			db_exec(c, "BEGIN");
		}
		if (label && (r & 63) == 0)
		{
			char		det[64];

			snprintf(det, sizeof(det), "%ld/%ld rows", r + 1, n);
			progress_show(&p, (double) (r + 1) / n, det);
		}
	}
	if (batch > 1)
		db_exec(c, "COMMIT");
	secs = now_sec() - t0;
	if (label)
	{
		progress_show(&p, 1.0, "done");
		progress_end(&p);
	}
	db_exec(c, "DEALLOCATE reins");
	return secs;
}

/* ------------------------------------------------------------------------
 * recall against the rows alive
 * ------------------------------------------------------------------------ */

/* recall of the first nq queries at every --values against gt (the exact answer of the rows alive) */
void
recall_vs_gt(const Dataset *ds, const Spec *s, const char *table, const GroundTruth *gt, int nq, WriteRecall *wr,
			 const char *label)
{
	char		values[MAXLIST][64];
	int			i;

	wr->n = sweep_values(s, values);
	for (i = 0; i < wr->n; i++)
	{
		run_queries(ds, s, table, NULL, ds->query, nq, gt, values[i], 1, 1, 0, &wr->q[i]);
		printf("  recall %-20s %s=%-5s R@1 %.4f  R@10 %.4f  QPS %.1f\n", label,
			   O.exact ? "exact" : (s->guc[0] ? s->guc : "-"), values[i][0] ? values[i] : "-",
			   wr->q[i].recall1, wr->q[i].recall10, wr->q[i].qps);
	}
}

static void
write_recall(const Dataset *ds, const Spec *s, const char *table, const LiveSet *L, int nq, WriteRecall *wr,
			 const char *label)
{
	GroundTruth gt;

	live_gt(ds, L, nq, &gt);
	recall_vs_gt(ds, s, table, &gt, nq, wr, label);
	gt_free(&gt);
}

void
json_write_recall(Json *j, const char *key, const WriteRecall *wr)
{
	int			i;

	j_arr(j, key);
	for (i = 0; i < wr->n; i++)
		json_query_result(j, &wr->q[i]);
	j_end(j);
}

/* ------------------------------------------------------------------------
 * write: inserts by batch size, delete + VACUUM, delete + reinsert cycles
 * ------------------------------------------------------------------------ */

typedef struct WriteCycle
{
	long		deleted,
				reinserted;
	double		vacuum_s;
	long long	index_bytes,
				table_bytes;
} WriteCycle;

/* what 'write' measures on one spec */
typedef struct WriteRun
{
	char		wt[300],
				widx[200];
	BuildResult br;
	WriteRecall before,
				after,
				cycles;
	InsResult	ir[16];
	int			nb;
	long		clients;
	long		ndel;
	double		del_s,
				vac_s;
	long long	size_before,
				size_after_del,
				size_after_vac,
				table_after_vac;
	WriteCycle	cyc[64];
	int			ncyc;
} WriteRun;

static void
json_write(Json *j, const WriteRun *w)
{
	int			i;

	j_str(j, "table", w->wt);
	j_bool(j, "in_place", O.in_place);
	j_obj(j, "build");
	json_build(j, &w->br);
	j_end(j);
	json_write_recall(j, "recall_initial", &w->before);
	j_arr(j, "insert");
	for (i = 0; i < w->nb; i++)
	{
		j_obj(j, NULL);
		j_int(j, "batch", w->ir[i].batch);
		j_int(j, "rows", w->ir[i].rows);
		j_int(j, "clients", w->clients);
		j_num(j, "seconds", w->ir[i].seconds);
		j_num(j, "rows_per_second", w->ir[i].rows_per_s);
		j_num(j, "commit_p50_ms", w->ir[i].commit_p50);
		j_num(j, "commit_p99_ms", w->ir[i].commit_p99);
		j_end(j);
	}
	j_end(j);
	j_obj(j, "delete");
	j_int(j, "rows", w->ndel);
	j_num(j, "fraction", O.delete_frac);
	j_num(j, "seconds", w->del_s);
	j_num(j, "rows_per_second", rows_per_s(w->ndel, w->del_s));
	j_int(j, "index_bytes_before", w->size_before);
	j_int(j, "index_bytes_after_delete", w->size_after_del);
	j_end(j);
	j_obj(j, "vacuum");
	j_num(j, "seconds", w->vac_s);
	j_int(j, "index_bytes_after", w->size_after_vac);
	j_int(j, "table_bytes_after", w->table_after_vac);
	j_end(j);
	json_write_recall(j, "recall_after_vacuum", &w->after);
	j_arr(j, "cycles");
	for (i = 0; i < w->ncyc; i++)
	{
		j_obj(j, NULL);
		j_int(j, "cycle", i + 1);
		j_int(j, "deleted", w->cyc[i].deleted);
		j_int(j, "reinserted", w->cyc[i].reinserted);
		j_num(j, "vacuum_seconds", w->cyc[i].vacuum_s);
		j_int(j, "index_bytes", w->cyc[i].index_bytes);
		j_int(j, "table_bytes", w->cyc[i].table_bytes);
		j_end(j);
	}
	j_end(j);
	if (w->ncyc > 0)
		json_write_recall(j, "recall_after_cycles", &w->cycles);
}

/*
 * --in-place: the spec's own table and the index 'build' made, with a btree
 * on id for the deletes (as the work table's primary key); the table is
 * marked changed first, so that later subcommands do not take it for the
 * data set as loaded
 */
static void
in_place_table(PGconn *c, const Dataset *ds, const Spec *s, WriteRun *w)
{
	snprintf(w->wt, sizeof(w->wt), "%s", s->table);
	snprintf(w->widx, sizeof(w->widx), "%s", s->index);
	memset(&w->br, 0, sizeof(w->br));
	if (has_index(s) && !index_exists(c, s->index))
		die("write --in-place: index %s does not exist (run 'vecbench build' with the same options first)",
			s->index);
	printf("== write: %s on %s in place (index %s as 'build' left it)\n", s->label, w->wt,
		   has_index(s) ? s->index : "none");
	mark_table_written(c, w->wt);
	db_exec(c, "ALTER TABLE %s SET (autovacuum_enabled = off)", w->wt);
	if (!O.quiet)
		fprintf(stderr, "write: btree on %s (id) for the deletes...\n", w->wt);
	db_exec(c, "CREATE INDEX IF NOT EXISTS %.40s_id_btree ON %s (id)", w->wt, w->wt);
	w->br.seconds = NAN;
	w->br.index_bytes = has_index(s) ? db_int(c, "SELECT pg_relation_size('%s')", w->widx) : 0;
	w->br.table_bytes = db_int(c, "SELECT pg_table_size('%s')", w->wt);
	w->br.bytes_per_vector = ds->n > 0 ? (double) w->br.index_bytes / ds->n : NAN;
	w->br.mem.hwm_kb = w->br.mem.rss_kb = w->br.mem.anon_kb = -1;
}

/* the write run of spec number si */
static void
write_spec(PGconn *c, const Dataset *ds, const Spec *s, int si, const long *batches, WriteRun *w)
{
	LiveSet		L;
	int64_t		next_id = ds->n;
	long		xoff = 0,
				i;
	int64_t    *del_ids;
	const float **del_vecs;
	Rng			rng;
	int			nq = O.write_nq < ds->nq ? O.write_nq : ds->nq,
				bi;

	ensure_spec_tables(c, ds, s);
	if (O.in_place)
		in_place_table(c, ds, s, w);
	else
	{
		work_table_names(s, "w", w->wt, sizeof(w->wt), w->widx, sizeof(w->widx));
		printf("== write: %s on %s (copy of %s)\n", s->label, w->wt, s->table);
		work_table(c, ds, s, w->wt, w->widx, &w->br);
	}
	live_init(&L, ds->n);
	write_recall(ds, s, w->wt, &L, nq, &w->before, "initial");

	/* inserts, batch sizes */
	for (bi = 0; bi < w->nb; bi++)
	{
		InsResult  *ir = &w->ir[bi];

		insert_rows(ds, s, w->wt, next_id, xoff, O.insert_rows, (int) batches[bi], (int) w->clients, ir);
		for (i = 0; i < ir->rows; i++)
			live_add(&L, next_id + i, ds->extra + (size_t) ((xoff + i) % (ds->nextra ? ds->nextra : 1)) * ds->dim);
		next_id += ir->rows;
		xoff += ir->rows;
		printf("  insert batch %4d: %6ld rows in %7.2f s = %9.1f rows/s  (commit p50 %.2f ms, p99 %.2f ms, "
			   "%ld client%s)\n", ir->batch, ir->rows, ir->seconds, ir->rows_per_s,
			   ir->commit_p50, ir->commit_p99, w->clients, w->clients > 1 ? "s" : "");
	}
	/* delete a fraction of the rows */
	rng_seed(&rng, O.seed, 77, si);
	w->ndel = (long) (O.delete_frac * live_count(&L));
	del_ids = xmalloc(sizeof(int64_t) * (w->ndel + 1));
	del_vecs = xmalloc(sizeof(float *) * (w->ndel + 1));
	w->ndel = pick_live(&L, &rng, w->ndel, del_ids, del_vecs, ds);
	w->size_before = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
	w->del_s = delete_ids(c, w->wt, del_ids, w->ndel, O.delete_batch);
	w->size_after_del = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
	printf("  delete: %ld rows in %.2f s = %.1f rows/s (%d per statement)\n", w->ndel, w->del_s,
		   rows_per_s(w->ndel, w->del_s), O.delete_batch);
	w->vac_s = timed_vacuum(c, w->wt);
	w->size_after_vac = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
	w->table_after_vac = db_int(c, "SELECT pg_table_size('%s')", w->wt);
	printf("  VACUUM after deleting %.0f%%: %.2f s; index %.1f MB -> %.1f MB\n", O.delete_frac * 100, w->vac_s,
		   w->size_before / 1048576.0, w->size_after_vac / 1048576.0);
	write_recall(ds, s, w->wt, &L, nq, &w->after, "after delete+VACUUM");

	/* delete + reinsert cycles */
	for (i = 0; i < w->ncyc; i++)
	{
		WriteCycle *cy = &w->cyc[i];
		long		m = (long) (O.cycle_frac * live_count(&L)),
					got;
		int64_t    *ids = xmalloc(sizeof(int64_t) * (m + 1));
		const float **vecs = xmalloc(sizeof(float *) * (m + 1));

		got = pick_live(&L, &rng, m, ids, vecs, ds);
		if (ds->streamed)
			live_materialize(&L, ds, ids, vecs, got);
		delete_ids(c, w->wt, ids, got, O.delete_batch);
		cy->vacuum_s = timed_vacuum(c, w->wt);
		cy->deleted = got;
		reinsert_rows(c, ds, s, w->wt, vecs, got, 100, &next_id, &L, NULL);
		cy->reinserted = got;
		cy->index_bytes = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
		cy->table_bytes = db_int(c, "SELECT pg_table_size('%s')", w->wt);
		printf("  cycle %ld: deleted %ld, VACUUM %.2f s, reinserted %ld: index %.1f MB, table %.1f MB\n",
			   i + 1, got, cy->vacuum_s, got, cy->index_bytes / 1048576.0, cy->table_bytes / 1048576.0);
		free(ids);
		free(vecs);
	}
	if (w->ncyc > 0)
		write_recall(ds, s, w->wt, &L, nq, &w->cycles, "after cycles");
	else
		w->cycles.n = 0;
	free(del_ids);
	free(del_vecs);
	live_free(&L);
}

int
cmd_write(void)
{
	Run			r;
	int			si;
	long		batches[16],
				clients[MAXLIST];
	WriteRun   *w = xcalloc(1, sizeof(WriteRun));

	/* before anything is loaded: --force would reload the table (its index dropped) and then find no index */
	if (O.in_place && O.force)
		die("write --in-place --force: --force reloads the table, which drops the index 'build' made that "
			"--in-place works on; reload with 'vecbench load --force', build, then 'write --in-place' without "
			"--force");
	if (O.in_place && O.nspec > 1)
		die("write --in-place: one --spec at a time (each changes its table)");
	w->nb = parse_int_list(O.batches, batches, 16);
	run_data(&r, 0);
	if (r.ds.nextra < 1)
		die("write needs extra vectors to insert (--nextra; fashion-mnist has 10,000 test images "
			"minus --nq, plus the train images beyond --n)");
	{
		long		ins = 0;
		int			bi;

		/* rows inserted from the extra vectors: each batch size inserts --insert-rows rounded up to batches */
		for (bi = 0; bi < w->nb; bi++)
			if (batches[bi] > 0)
				ins += (O.insert_rows + batches[bi] - 1) / batches[bi] * batches[bi];
		if (ins > r.ds.nextra)
			fprintf(stderr, "vecbench write: warning: %ld rows are inserted from %d extra vectors: they wrap "
					"around, each vector is inserted up to %ld times under other ids (duplicates: ties in the "
					"exact answers); give --nextra %ld or more\n", ins, r.ds.nextra,
					(ins + r.ds.nextra - 1) / r.ds.nextra, ins);
	}
	if (r.ds.streamed && O.cycles > 0)
	{
		/* live_materialize keeps the vectors of every cycle's reinserted rows until the end */
		double		held = (O.cycles < 64 ? O.cycles : 64) * O.cycle_frac * (double) r.ds.n * r.ds.dim * 4;

		if (held > 4.0 * (1L << 30))
			die("write: %d cycles of %g of %ld streamed rows keep %.1f GB of generated vectors in memory "
				"(the reinserted rows' vectors are held until the end); fewer --cycles or a smaller "
				"--cycle-frac (at most 4 GB), or --cycles 0", O.cycles < 64 ? O.cycles : 64, O.cycle_frac,
				r.ds.n, held / (1L << 30));
	}
	run_connect(&r);
	if (parse_int_list(O.clients, clients, MAXLIST) < 1)
		clients[0] = 1;
	for (si = 0; si < r.nspec; si++)
	{
		Json		j;

		w->clients = clients[0];
		w->ncyc = O.cycles < 64 ? O.cycles : 64;
		write_spec(r.c, &r.ds, &r.specs[si], si, batches, w);
		g_last_write.recall_before = w->before.q[w->before.n - 1].recall10;
		g_last_write.recall_after_vacuum = w->after.q[w->after.n - 1].recall10;
		g_last_write.recall_after_cycles = w->cycles.n ? w->cycles.q[w->cycles.n - 1].recall10 : NAN;

		meta_refresh_extensions(r.c);
		json_run_begin(&j, "write", &r.ds, &r.specs[si]);
		json_write(&j, w);
		json_run_end(&j);
		if (!O.force && !O.in_place)
			db_exec(r.c, "DROP TABLE IF EXISTS %s", w->wt);
	}
	free(w);
	end_run(&r);
	return 0;
}

