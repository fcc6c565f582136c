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
 *     after each; --in-place records each phase done in vecbench_meta, so
 *     that a run cut short goes on (--resume).
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

/* extra vector k: the inserts take them in order, wrapping around */
static const float *
extra_vec(const Dataset *ds, long k)
{
	return ds->extra + (size_t) (k % (ds->nextra > 0 ? ds->nextra : 1)) * ds->dim;
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

			if (!exec_insert(c, "ins", J->id0 + row, extra_vec(J->ds, J->xoff + row), dim))
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

/* a line of a recall pass */
static void
print_recall(const Spec *s, const char *label, const QueryResult *q)
{
	printf("  recall %-20s %s=%-5s R@1 %.4f  R@10 %.4f  QPS %.1f\n", label,
		   O.exact ? "exact" : (s->guc[0] ? s->guc : "-"), q->value[0] ? q->value : "-",
		   q->recall1, q->recall10, q->qps);
}

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
		print_recall(s, label, &wr->q[i]);
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

/* how the figures of a phase came about (see "the progress of an in-place write") */
enum
{
	PH_RUN,						/* measured: the whole phase ran in one run */
	PH_RESUMED,					/* gone on with after a cut: the time of the rest, not a measurement */
	PH_NOFIG					/* done by a cut-short run before it recorded it: no figures */
};

typedef struct WriteCycle
{
	long		deleted,
				reinserted;
	double		vacuum_s;
	long long	index_bytes,
				table_bytes;
	int			how;			/* PH_... */
} WriteCycle;

#define MAXPHASES 256

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
	int			ir_how[16];		/* PH_... */
	long		ir_there[16];	/* rows of the batch size a cut-short run had committed */
	int			nb;
	long		clients;
	long		ndel;
	double		del_s,
				vac_s;
	int			del_how,
				vac_how;
	long		del_still;		/* resumed delete: picked rows still there, else -1 */
	long long	size_before,
				size_after_del,
				size_after_vac,
				table_after_vac;
	WriteCycle	cyc[64];
	int			ncyc;
	/* --in-place: progress recorded in vecbench_meta; --resume: what a cut-short run did */
	int			resumed;		/* this run goes on with a cut-short one */
	int			finished;		/* --resume of a write that had finished: nothing to do */
	char		ph_name[MAXPHASES][40];
	char		ph_kind[MAXPHASES]; /* 'r' from the record, 's' resumed, 'n' no figures */
	int			nph;
} WriteRun;

/* ------------------------------------------------------------------------
 * the progress of an in-place write
 *
 * 'write --in-place' changes the table the data set was loaded into, so a
 * run cut short (a signal, a crash, a session ending) cannot simply start
 * again: the rows it deleted are gone, a new run would pick the same ids and
 * delete nothing.  It records its progress in vecbench_meta instead, a row
 * per phase once the phase has committed: tbl 'TABLE:write:PHASE', key the
 * phase's figures as text, rows its rows, loaded the time.
 *
 *   options            what the run's state and figures depend on (the
 *                      format of these records, PROGRESS_FORMAT; data set,
 *                      spec, --set, write options, the oids of the table and
 *                      index), a NAME=VALUE a line; with the table marked
 *                      written, in one transaction
 *   start              index and table bytes before the first change
 *   recall-initial     the recall before any change
 *   insert-B           the rows of batch size B committed
 *   delete-started     index bytes before the delete, the count and a hash
 *                      of the picked ids; its statements begin
 *   delete             every picked row deleted
 *   vacuum-started     VACUUM begun (a cancelled one leaves work done)
 *   vacuum             VACUUM done, the sizes after
 *   recall-after       the recall after delete + VACUUM
 *   cycle-C-started    the count and a hash of the ids cycle C picked; its
 *                      delete begins
 *   cycle-C            delete + VACUUM + reinsert cycle C done
 *   recall-cycles      the recall after the cycles
 *   done               the JSON line written (after it: a run cut between
 *                      the two leaves its JSON line in the results file and
 *                      no "done", so its --resume writes a second JSON line,
 *                      every phase from the record: "progress" lists them all
 *                      under "from_record")
 *
 * 'write --in-place --resume' with the same options skips the phases
 * recorded (their figures come from the record), rebuilds the live set as
 * the first run had it (the inserted ids and vectors follow from the
 * options, the deleted ids from the seeded picks; checked against the table
 * with btree lookups) and goes on.  A phase the cut-short run had begun is
 * gone on with and reported as resumed: the rows of an insert phase that
 * are missing are inserted (same ids and vectors, one session), a delete
 * runs over the whole picked list again (rows deleted already are not found
 * again), VACUUM runs again.  The picks of the delete and of each cycle are
 * checked against the count and hash their "-started" record holds: a
 * vecbench that picks otherwise (another version) is refused before it
 * deletes anything.  In the JSON line of a resumed run, a phase gone on with
 * has "seconds": null and its time as "seconds_resumed" ("vacuum_seconds" and
 * "vacuum_seconds_resumed" in a cycle), and "progress" says what came from
 * the record; a run not resumed writes neither.  A reload (load --force)
 * removes the records with the table's markers; a new in-place write removes
 * the old ones.
 * ------------------------------------------------------------------------ */

#define PROGRESS_TAG ":write:"
#define PROGRESS_FORMAT 2		/* of the records: a change makes a resume of older ones refused */

/* record phase of the in-place write: its figures (printf-style) and rows */
static void
phase_put(PGconn *c, const WriteRun *w, const char *phase, long rows, const char *fmt,...)
	__attribute__((format(printf, 5, 6)));

static void
phase_put(PGconn *c, const WriteRun *w, const char *phase, long rows, const char *fmt,...)
{
	char		tbl[400];
	char	   *fig;
	va_list		ap;

	if (!O.in_place)
		return;
	va_start(ap, fmt);
	fig = xvasprintf(fmt, ap);
	va_end(ap);
	snprintf(tbl, sizeof(tbl), "%s%s%s", w->wt, PROGRESS_TAG, phase);
	meta_set(c, tbl, fig, rows);
	free(fig);
}

/*
 * the figures a cut-short run recorded for phase (malloc'd; its rows and
 * time when asked), NULL when it did not record it (or this run resumes none)
 */
static char *
phase_get(PGconn *c, const WriteRun *w, const char *phase, long *rows, char *when, size_t whenlen)
{
	char		tbl[400],
				sql[600];
	char	   *esc_t,
			   *fig = NULL;
	PGresult   *r;

	if (!O.in_place || !w->resumed)
		return NULL;
	snprintf(tbl, sizeof(tbl), "%s%s%s", w->wt, PROGRESS_TAG, phase);
	esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	snprintf(sql, sizeof(sql), "SELECT key, rows, to_char(loaded, 'YYYY-MM-DD HH24:MI:SS') FROM vecbench_meta "
			 "WHERE tbl = %s", esc_t);
	PQfreemem(esc_t);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(r) == 1)
	{
		fig = xstrdup(PQgetvalue(r, 0, 0));
		if (rows)
			*rows = atol(PQgetvalue(r, 0, 1));
		if (when)
			snprintf(when, whenlen, "%s", PQgetvalue(r, 0, 2));
	}
	PQclear(r);
	return fig;
}

/* the phases of the run for the JSON: kind 'r' from the record, 's' resumed, 'n' no figures */
static void
phase_note(WriteRun *w, const char *phase, int from_record, int how)
{
	char		kinds[3];
	int			n = 0,
				i;

	if (!O.in_place)
		return;
	if (from_record)
		kinds[n++] = 'r';
	if (how == PH_RESUMED)
		kinds[n++] = 's';
	else if (how == PH_NOFIG)
		kinds[n++] = 'n';
	for (i = 0; i < n && w->nph < MAXPHASES; i++)
	{
		snprintf(w->ph_name[w->nph], sizeof(w->ph_name[0]), "%s", phase);
		w->ph_kind[w->nph++] = kinds[i];
	}
}

/* a recall pass as text: a line per value, every field of its QueryResult */
static char *
recall_text(const WriteRecall *wr)
{
	PQExpBufferData b;
	int			i;

	initPQExpBuffer(&b);
	for (i = 0; i < wr->n; i++)
	{
		const QueryResult *q = &wr->q[i];

		appendPQExpBuffer(&b, "%s %d %d %ld %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %ld %ld %ld %ld\n",
						  q->value[0] ? q->value : "-", q->clients, q->server_side, q->queries, q->wall, q->qps,
						  q->p50, q->p95, q->p99, q->mean, q->recall1, q->recall10, q->recall100, q->min_results,
						  q->mem.hwm_kb, q->mem.rss_kb, q->mem.anon_kb);
	}
	buf_check(&b);
	return b.data;
}

static void
recall_parse(const char *t, WriteRecall *wr, const char *phase)
{
	memset(wr, 0, sizeof(*wr));
	while (t && *t && wr->n < MAXLIST)
	{
		QueryResult *q = &wr->q[wr->n];
		char		val[64];

		if (sscanf(t, "%63s %d %d %ld %lf %lf %lf %lf %lf %lf %lf %lf %lf %ld %ld %ld %ld", val, &q->clients,
				   &q->server_side, &q->queries, &q->wall, &q->qps, &q->p50, &q->p95, &q->p99, &q->mean,
				   &q->recall1, &q->recall10, &q->recall100, &q->min_results, &q->mem.hwm_kb, &q->mem.rss_kb,
				   &q->mem.anon_kb) != 17)
			die("write --resume: the record of %s does not read as a recall pass: %s", phase, t);
		snprintf(q->value, sizeof(q->value), "%s", strcmp(val, "-") == 0 ? "" : val);
		wr->n++;
		t = strchr(t, '\n');
		if (t)
			t++;
	}
}

/* the value of NAME in a NAME=VALUE-a-line text (its length in *len), NULL when absent */
static const char *
text_value(const char *text, const char *name, size_t namelen, int *len)
{
	const char *p = text;

	while (p && *p)
	{
		const char *nl = strchr(p, '\n');
		size_t		linelen = nl ? (size_t) (nl - p) : strlen(p);

		if (linelen > namelen && strncmp(p, name, namelen) == 0 && p[namelen] == '=')
		{
			*len = (int) (linelen - namelen - 1);
			return p + namelen + 1;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/*
 * what an in-place write's state and figures depend on, a NAME=VALUE a line
 * (the "options" record); the inserted rows follow from insert-rows, batches
 * and the extra vectors, the deleted ones from the seed and delete-frac
 */
static char *
write_options_text(PGconn *c, const Dataset *ds, const Spec *s, const long *batches, const WriteRun *w)
{
	PQExpBufferData b;
	char	   *oids,
			   *esc_t,
			   *esc_i;
	int			i;

	esc_t = PQescapeLiteral(c, w->wt, strlen(w->wt));
	esc_i = PQescapeLiteral(c, w->widx, strlen(w->widx));
	oids = db_value(c, "SELECT %s::regclass::oid || ' / ' || coalesce(to_regclass(%s)::oid::text, '-')", esc_t,
					esc_i);
	PQfreemem(esc_t);
	PQfreemem(esc_i);
	initPQExpBuffer(&b);
	appendPQExpBuffer(&b, "progress format=%d\n", PROGRESS_FORMAT);
	appendPQExpBuffer(&b, "data set=%s %s\n", ds->key, metric_names[ds->metric]);
	appendPQExpBuffer(&b, "nextra=%d (%016llx)\n", ds->nextra, (unsigned long long) ds->ck_extra);
	appendPQExpBuffer(&b, "spec=am=%s;ops=%s;type=%s;with=%s;guc=%s\n", s->am, s->ops, s->type, s->with, s->guc);
	appendPQExpBufferStr(&b, "set=");
	for (i = 0; i < O.nsets; i++)
		appendPQExpBuffer(&b, "%s%s", i ? ";" : "", O.sets[i]);
	appendPQExpBufferChar(&b, '\n');
	appendPQExpBuffer(&b, "table / index oid=%s\n", oids ? oids : "?");
	appendPQExpBuffer(&b, "insert-rows=%d\n", O.insert_rows);
	appendPQExpBufferStr(&b, "batches=");
	for (i = 0; i < w->nb; i++)
		appendPQExpBuffer(&b, "%s%ld", i ? "," : "", batches[i]);
	appendPQExpBuffer(&b, "\nclients=%ld\n", w->clients);
	appendPQExpBuffer(&b, "delete-frac=%.15g\n", O.delete_frac);
	appendPQExpBuffer(&b, "delete-batch=%d\n", O.delete_batch);
	appendPQExpBuffer(&b, "cycles=%d\n", w->ncyc);
	appendPQExpBuffer(&b, "cycle-frac=%.15g\n", O.cycle_frac);
	appendPQExpBuffer(&b, "seed=%llu\n", (unsigned long long) O.seed);
	appendPQExpBuffer(&b, "write-nq=%d\n", O.write_nq < ds->nq ? O.write_nq : ds->nq);
	appendPQExpBuffer(&b, "values=%s\n", O.values);
	appendPQExpBuffer(&b, "k=%d\n", O.k);
	appendPQExpBuffer(&b, "exact=%d\n", O.exact);
	buf_check(&b);
	free(oids);
	return b.data;
}

/*
 * the lines of a whose NAME b has not, or with another value, into d: "NAME
 * a-value then, b-value now" (or the other way round: a_is_now)
 */
static void
options_diff(PQExpBuffer d, const char *a, const char *b, int a_is_now)
{
	const char *p;

	for (p = a; p && *p;)
	{
		const char *nl = strchr(p, '\n'),
				   *eq = strchr(p, '='),
				   *other;
		int			len = (int) ((nl ? nl : p + strlen(p)) - p),
					vlen,
					olen = 0;

		if (!eq || (nl && eq > nl))
			appendPQExpBuffer(d, "\n  %.*s (a line %s only)", len, p, a_is_now ? "now" : "then");
		else
		{
			vlen = len - (int) (eq - p) - 1;
			other = text_value(b, p, eq - p, &olen);
			if (!other)
				appendPQExpBuffer(d, "\n  %-18.*s %.*s %s, not %s", (int) (eq - p), p, vlen ? vlen : 6,
								  vlen ? eq + 1 : "(none)", a_is_now ? "now" : "then",
								  a_is_now ? "recorded then" : "given now");
			else if (a_is_now && (olen != vlen || strncmp(other, eq + 1, vlen) != 0))
				appendPQExpBuffer(d, "\n  %-18.*s %.*s then, %.*s now", (int) (eq - p), p, olen ? olen : 6,
								  olen ? other : "(none)", vlen ? vlen : 6, vlen ? eq + 1 : "(none)");
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* die unless the options recorded (rec, of when) are these (cur): the differences, a line each */
static void
options_check(const WriteRun *w, const char *rec, const char *cur, const char *when)
{
	PQExpBufferData d;

	if (strcmp(rec, cur) == 0)
		return;
	initPQExpBuffer(&d);
	options_diff(&d, cur, rec, 1);
	options_diff(&d, rec, cur, 0);
	if (d.len == 0)
		appendPQExpBufferStr(&d, "\n  (the same lines, in another order or repeated)");
	buf_check(&d);
	die("write --in-place --resume: the write on %s cut short (begun %s) ran with other options:%s\n"
		"resume it with its options, or reload the table ('vecbench load --force', build, write; "
		"bench/scale.sh: --redo load)", w->wt, when, d.data);
}

/* the tbl prefix of the progress records of w's table as an SQL literal (PQfreemem it), its length in *len */
static char *
progress_prefix(PGconn *c, const WriteRun *w, int *len)
{
	char		prefix[400];

	snprintf(prefix, sizeof(prefix), "%s%s", w->wt, PROGRESS_TAG);
	*len = (int) strlen(prefix);
	return PQescapeLiteral(c, prefix, strlen(prefix));
}

/* what the cut-short run recorded, in order */
static void
print_resume_header(PGconn *c, const WriteRun *w, const char *begun)
{
	char		sql[900];
	char	   *esc;
	PGresult   *r;
	int			i,
				n,
				plen;

	esc = progress_prefix(c, w, &plen);
	snprintf(sql, sizeof(sql), "SELECT substr(tbl, %d), to_char(loaded, 'YYYY-MM-DD HH24:MI:SS') FROM vecbench_meta "
			 "WHERE left(tbl, %d) = %s AND substr(tbl, %d) NOT IN ('options', 'start') ORDER BY loaded, tbl",
			 plen + 1, plen, esc, plen + 1);
	PQfreemem(esc);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(c));
	n = PQntuples(r);
	printf("== write: resuming the in-place write on %s (index %s) begun %s and cut short\n", w->wt, w->widx, begun);
	printf("   recorded by it (vecbench_meta):");
	for (i = 0; i < n; i++)
		printf("%s %s", i ? "," : "", PQgetvalue(r, i, 0));
	if (n > 0)
		printf(" (last %s)\n", PQgetvalue(r, n - 1, 1));
	else
		printf(" nothing after its start\n");
	printf("   phases recorded as done are skipped: their figures are the cut-short run's, from that record; a phase "
		   "it had begun is gone on with and said so; the live set is rebuilt from the options (inserted ids and "
		   "vectors) and the seeded picks (deleted ids)\n");
	PQclear(r);
}

/* how many of the ids id0 .. id0 + rows - 1 table holds (have[i] set for each, when given) */
static long
rows_there(PGconn *c, const char *table, int64_t id0, long rows, char *have)
{
	char		sql[400];
	PGresult   *r;
	long		i,
				n;

	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE id >= %lld AND id < %lld", table, (long long) id0,
			 (long long) (id0 + rows));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(c));
	n = PQntuples(r);
	if (have)
		for (i = 0; i < n; i++)
		{
			long long	id = atoll(PQgetvalue(r, i, 0));

			have[id - id0] = 1;
		}
	PQclear(r);
	return n;
}

/* how many rows of table have one of the ids (btree lookups, 65536 ids a statement) */
static long
ids_there(PGconn *c, const char *table, const int64_t *ids, long n)
{
	char		sql[320];
	Oid			types[1] = {INT8ARRAYOID};
	long		i,
				cnt = 0;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE id = ANY($1)", table);
	for (i = 0; i < n; i += 65536)
	{
		PQExpBufferData b;
		const char *vals[1];
		int			lens[1],
					fmts[1] = {1};
		PGresult   *r;

		initPQExpBuffer(&b);
		append_int8_array(&b, ids + i, n - i < 65536 ? n - i : 65536);
		buf_check(&b);
		vals[0] = b.data;
		lens[0] = (int) b.len;
		r = PQexecParams(c, sql, 1, types, vals, lens, fmts, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			die("%s: %s", sql, PQerrorMessage(c));
		cnt += atol(PQgetvalue(r, 0, 0));
		PQclear(r);
		termPQExpBuffer(&b);
	}
	return cnt;
}

/*
 * the rows id0 .. id0 + rows - 1 (vectors vecs) that table lacks, inserted in
 * one session, batch rows per commit: what a cut-short run had not committed
 * of a phase; returns the seconds
 */
static double
insert_missing(PGconn *c, const Dataset *ds, const Spec *s, const char *table, int64_t id0, const float **vecs,
			   long rows, int batch)
{
	char	   *have = xcalloc(rows > 0 ? rows : 1, 1);
	long		i,
				n = 0;
	double		t0;

	rows_there(c, table, id0, rows, have);
	prepare_insert(c, "insm", table, s);
	t0 = now_sec();
	for (i = 0; i < rows; i++)
	{
		if (have[i])
			continue;
		if (batch > 1 && n % batch == 0)
			db_exec(c, "BEGIN");
		if (!exec_insert(c, "insm", id0 + i, vecs[i], ds->dim))
			die("insert: %s", PQerrorMessage(c));
		n++;
		if (batch > 1 && n % batch == 0)
			db_exec(c, "COMMIT");
	}
	if (batch > 1 && n % batch != 0)
		db_exec(c, "COMMIT");
	t0 = now_sec() - t0;
	db_exec(c, "DEALLOCATE insm");
	free(have);
	return t0;
}

/* identity of a list of ids, in order (their values: the same picks give the same hash in any process) */
static uint64_t
ids_hash(const int64_t *ids, long n)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL,
				x;
	long		i;

	for (i = 0; i < n; i++)
	{
		x = (uint64_t) ids[i];
		h = (h ^ splitmix64(&x)) * 0x100000001b3ULL;
	}
	return h;
}

/* the picks of a "-started" record, first in it: how many ids and their ids_hash */
#define PICKS_FMT "%ld %016llx"

/*
 * --resume: the record started (delete-started, cycle-C-started) of the
 * cut-short run, NULL when there is none (malloc'd): the picks it holds must
 * be this run's (ids, n), else die, before this run deletes anything
 */
static char *
picks_get(PGconn *c, const WriteRun *w, const char *started, const int64_t *ids, long n)
{
	long		rec_n,
				rows;
	unsigned long long rec_h,
				h;
	char	   *fig = phase_get(c, w, started, &rows, NULL, 0);

	if (!fig)
		return NULL;
	if (sscanf(fig, "%ld %llx", &rec_n, &rec_h) != 2)
		die("write --resume: the record of %s does not read: '%s'", started, fig);
	h = ids_hash(ids, n);
	if (rec_n != n || rows != n || rec_h != h)
		die("write --in-place --resume: this vecbench picks other rows than the run cut short on %s: its record of "
			"%s holds %ld ids (hash %016llx, %ld rows), this run picks %ld ids (hash %016llx); it would delete "
			"other rows than that run (a vecbench built otherwise, another version?): nothing deleted; resume with "
			"the vecbench that began the write, or reload the table ('vecbench load --force', build, write; "
			"bench/scale.sh: --redo load)", w->wt, started, rec_n, rec_h, rows, n, h);
	return fig;
}

/*
 * --resume: the live set rebuilt against the table: none of the rows it has
 * dead is there, and the rows with ids from n on (inserted) are the inserted
 * rows it has alive (btree lookups, no scan of the table)
 */
static void
live_check(PGconn *c, const WriteRun *w, const LiveSet *L, const char *when)
{
	long		ndead = 0,
				alive_ins = 0,
				i,
				there_dead;
	long long	there_ins;
	int64_t    *dead;

	for (i = 0; i < L->n; i++)
		ndead += !L->base_alive[i];
	for (i = 0; i < L->nins; i++)
		ndead += !L->ins_alive[i];
	dead = xmalloc(sizeof(int64_t) * (ndead + 1));
	ndead = 0;
	for (i = 0; i < L->n; i++)
		if (!L->base_alive[i])
			dead[ndead++] = i;
	for (i = 0; i < L->nins; i++)
		if (!L->ins_alive[i])
			dead[ndead++] = L->ins_id[i];
		else
			alive_ins++;
	there_dead = ids_there(c, w->wt, dead, ndead);
	there_ins = db_int(c, "SELECT count(*) FROM %s WHERE id >= %ld", w->wt, L->n);
	free(dead);
	if (there_dead != 0 || there_ins != alive_ins)
		die("write --resume: the live set rebuilt %s is not the table's: %ld of the %ld rows it has deleted are in "
			"%s, which holds %lld inserted rows (ids from %ld on) where it has %ld alive: the table was changed "
			"otherwise since the write was cut short, or this vecbench picks other rows than the one that began "
			"it (another version?); reload it", when, there_dead, ndead, w->wt, there_ins, L->n,
			alive_ins);
	printf("  resume check %s: none of the %ld rows deleted is in %s, the %ld inserted rows alive are: the live set "
		   "rebuilt is the table's\n", when, ndead, w->wt, alive_ins);
}

/* ------------------------------------------------------------------------
 * the phases of a write: each from the record of a cut-short run (--resume),
 * gone on with after a cut, or run, measured and recorded
 * ------------------------------------------------------------------------ */

/* a recall pass: phase recall-initial, recall-after or recall-cycles */
static void
phase_recall(PGconn *c, const Dataset *ds, const Spec *s, WriteRun *w, const LiveSet *L, int nq, WriteRecall *wr,
			 const char *phase, const char *label)
{
	char		when[32];
	char	   *fig = phase_get(c, w, phase, NULL, when, sizeof(when));
	int			i;

	if (fig)
	{
		recall_parse(fig, wr, phase);
		printf("  recall %s: skipped, done by the cut-short run (figures from its record of %s):\n", label, when);
		for (i = 0; i < wr->n; i++)
			print_recall(s, label, &wr->q[i]);
		phase_note(w, phase, 1, PH_RUN);
		free(fig);
		return;
	}
	write_recall(ds, s, w->wt, L, nq, wr, label);
	if (O.in_place)
	{
		fig = recall_text(wr);
		phase_put(c, w, phase, wr->n, "%s", fig);
		free(fig);
	}
}

/* the end of a phase's line: of a phase skipped, when its record was made (when; NULL: run now) */
static void
print_line_end(const char *when)
{
	if (when)
		printf(" [skipped, done by the cut-short run: figures from its record of %s]", when);
	printf("\n");
}

static void
print_insert(const WriteRun *w, int bi, const char *when)
{
	const InsResult *ir = &w->ir[bi];

	switch (w->ir_how[bi])
	{
		case PH_RUN:
			printf("  insert batch %4d: %6ld rows in %7.2f s = %9.1f rows/s  (commit p50 %.2f ms, p99 %.2f ms, "
				   "%ld client%s)", ir->batch, ir->rows, ir->seconds, ir->rows_per_s,
				   ir->commit_p50, ir->commit_p99, w->clients, w->clients > 1 ? "s" : "");
			break;
		case PH_RESUMED:
			printf("  insert batch %4d: %6ld rows, resumed: %ld of them committed by the cut-short run, the other "
				   "%ld inserted now in %.2f s (one client): the time of the rest, no rate", ir->batch, ir->rows,
				   w->ir_there[bi], ir->rows - w->ir_there[bi], ir->seconds);
			break;
		default:
			printf("  insert batch %4d: %6ld rows, all committed by the cut-short run before it recorded them: "
				   "no figures", ir->batch, ir->rows);
			break;
	}
	print_line_end(when);
}

/* the rows of batch size batch (w->ir[bi]): ids from id0, extra vectors from xoff */
static void
phase_insert(PGconn *c, const Dataset *ds, const Spec *s, WriteRun *w, int bi, int batch, int64_t id0, long xoff)
{
	InsResult  *ir = &w->ir[bi];
	long		want = (O.insert_rows + batch - 1) / batch * batch,
				rows,
				there = 0;
	char		phase[32],
				when[32];
	char	   *fig;

	snprintf(phase, sizeof(phase), "insert-%d", batch);
	memset(ir, 0, sizeof(*ir));
	ir->batch = batch;
	w->ir_how[bi] = PH_RUN;
	w->ir_there[bi] = 0;
	if ((fig = phase_get(c, w, phase, &rows, when, sizeof(when))))
	{
		if (sscanf(fig, "%lf %lf %lf %lf %d %ld", &ir->seconds, &ir->rows_per_s, &ir->commit_p50, &ir->commit_p99,
				   &w->ir_how[bi], &w->ir_there[bi]) != 6 || rows != want)
			die("write --resume: the record of %s ('%s', %ld rows) is not what these options give (%ld rows)", phase,
				fig, rows, want);
		ir->rows = rows;
		phase_note(w, phase, 1, w->ir_how[bi]);
		print_insert(w, bi, when);
		free(fig);
		return;
	}
	if (w->resumed)
		there = rows_there(c, w->wt, id0, want, NULL);
	if (there == 0)
		insert_rows(ds, s, w->wt, id0, xoff, O.insert_rows, batch, (int) w->clients, ir);
	else
	{
		/* the cut-short run had begun it: its committed batches stay, the others go in now */
		const float **vecs = xmalloc(sizeof(float *) * want);
		long		i;

		for (i = 0; i < want; i++)
			vecs[i] = extra_vec(ds, xoff + i);
		ir->rows = want;
		w->ir_there[bi] = there;
		w->ir_how[bi] = there >= want ? PH_NOFIG : PH_RESUMED;
		ir->seconds = there >= want ? NAN : insert_missing(c, ds, s, w->wt, id0, vecs, want, batch);
		ir->rows_per_s = ir->commit_p50 = ir->commit_p99 = NAN;
		free(vecs);
	}
	phase_put(c, w, phase, ir->rows, "%.17g %.17g %.17g %.17g %d %ld", ir->seconds, ir->rows_per_s,
			  ir->commit_p50, ir->commit_p99, w->ir_how[bi], w->ir_there[bi]);
	phase_note(w, phase, 0, w->ir_how[bi]);
	print_insert(w, bi, NULL);
}

static void
print_delete(const WriteRun *w, const char *when)
{
	switch (w->del_how)
	{
		case PH_RUN:
			printf("  delete: %ld rows in %.2f s = %.1f rows/s (%d per statement)", w->ndel, w->del_s,
				   rows_per_s(w->ndel, w->del_s), O.delete_batch);
			break;
		case PH_RESUMED:
			printf("  delete, resumed: of the %ld rows picked %ld were still there (the cut-short run had deleted "
				   "the others); the whole list deleted again in %.2f s (%d per statement): the time of a resumed "
				   "delete, no rate", w->ndel, w->del_still, w->del_s, O.delete_batch);
			break;
		default:
			printf("  delete: %ld rows, all deleted by the cut-short run before it recorded the delete (the list "
				   "deleted again found none of them): no figures", w->ndel);
			break;
	}
	print_line_end(when);
}

/* delete the picked rows (w->ndel of del_ids) */
static void
phase_delete(PGconn *c, WriteRun *w, const int64_t *del_ids)
{
	char		when[32];
	char	   *fig,
			   *started;
	long		rows;

	w->del_how = PH_RUN;
	w->del_still = -1;
	/* picks other than the cut-short run's die here, before anything is deleted */
	started = picks_get(c, w, "delete-started", del_ids, w->ndel);
	if ((fig = phase_get(c, w, "delete", &rows, when, sizeof(when))))
	{
		if (sscanf(fig, "%lf %lld %lld %d %ld", &w->del_s, &w->size_before, &w->size_after_del, &w->del_how,
				   &w->del_still) != 5 || rows != w->ndel)
			die("write --resume: the record of the delete ('%s', %ld rows) is not what these options give (%ld rows "
				"picked)", fig, rows, w->ndel);
		phase_note(w, "delete", 1, w->del_how);
		print_delete(w, when);
		free(fig);
		free(started);
		return;
	}
	if (started)
	{
		long		n;
		unsigned long long h;

		/* the cut-short run had begun deleting: the rows it deleted are not found again */
		if (sscanf(started, "%ld %llx %lld", &n, &h, &w->size_before) != 3)
			die("write --resume: the record of delete-started does not read: '%s'", started);
		w->del_still = ids_there(c, w->wt, del_ids, w->ndel);
		w->del_how = w->del_still == w->ndel ? PH_RUN : w->del_still == 0 ? PH_NOFIG : PH_RESUMED;
		free(started);
	}
	else
	{
		w->size_before = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
		phase_put(c, w, "delete-started", w->ndel, PICKS_FMT " %lld", w->ndel,
				  (unsigned long long) ids_hash(del_ids, w->ndel), w->size_before);
	}
	w->del_s = delete_ids(c, w->wt, del_ids, w->ndel, O.delete_batch);
	if (w->del_how == PH_NOFIG)
		w->del_s = NAN;
	w->size_after_del = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
	phase_put(c, w, "delete", w->ndel, "%.17g %lld %lld %d %ld", w->del_s, w->size_before, w->size_after_del,
			  w->del_how, w->del_still);
	phase_note(w, "delete", 0, w->del_how);
	print_delete(w, NULL);
}

/* VACUUM after the delete */
static void
phase_vacuum(PGconn *c, WriteRun *w)
{
	char		when[32],
				began[32] = "";
	char	   *fig;
	int			from_record = 0;

	w->vac_how = PH_RUN;
	if ((fig = phase_get(c, w, "vacuum", NULL, when, sizeof(when))))
	{
		if (sscanf(fig, "%lf %lld %lld %d", &w->vac_s, &w->size_after_vac, &w->table_after_vac, &w->vac_how) != 4)
			die("write --resume: the record of the VACUUM does not read: '%s'", fig);
		phase_note(w, "vacuum", 1, w->vac_how);
		from_record = 1;
		free(fig);
	}
	else
	{
		if ((fig = phase_get(c, w, "vacuum-started", NULL, began, sizeof(began))))
		{
			/* cancelled (or ended before its record): its heap pruning and index repairs stay done */
			w->vac_how = PH_RESUMED;
			free(fig);
		}
		phase_put(c, w, "vacuum-started", 0, "%s", "");
		w->vac_s = timed_vacuum(c, w->wt);
		w->size_after_vac = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
		w->table_after_vac = db_int(c, "SELECT pg_table_size('%s')", w->wt);
		phase_put(c, w, "vacuum", 0, "%.17g %lld %lld %d", w->vac_s, w->size_after_vac, w->table_after_vac,
				  w->vac_how);
		phase_note(w, "vacuum", 0, w->vac_how);
	}
	printf("  VACUUM after deleting %.0f%%: %.2f s; index %.1f MB -> %.1f MB", O.delete_frac * 100, w->vac_s,
		   w->size_before / 1048576.0, w->size_after_vac / 1048576.0);
	if (w->vac_how == PH_RESUMED)
		printf(" (resumed: a VACUUM of the cut-short run had begun%s%s and was cut off; what it had done is not "
			   "done again, so this is the time of the rest, not of a whole VACUUM)", began[0] ? " at " : "", began);
	print_line_end(from_record ? when : NULL);
}

/* rows reinserted with the vectors vecs[0..n), ids from *next_id on, into the live set */
static void
live_add_rows(LiveSet *L, int64_t *next_id, const float **vecs, long n)
{
	long		r;

	for (r = 0; r < n; r++)
		live_add(L, (*next_id)++, vecs[r]);
}

/* delete + VACUUM + reinsert cycle ci */
static void
phase_cycle(PGconn *c, const Dataset *ds, const Spec *s, WriteRun *w, LiveSet *L, Rng *rng, int64_t *next_id,
			long ci)
{
	WriteCycle *cy = &w->cyc[ci];
	long		m = (long) (O.cycle_frac * live_count(L)),
				got,
				rows;
	int64_t    *ids = xmalloc(sizeof(int64_t) * (m + 1));
	const float **vecs = xmalloc(sizeof(float *) * (m + 1));
	char		phase[32],
				started[48],
				when[32];
	char	   *fig,
			   *begun;
	int			from_record = 0;

	got = pick_live(L, rng, m, ids, vecs, ds);
	if (ds->streamed)
		live_materialize(L, ds, ids, vecs, got);
	snprintf(phase, sizeof(phase), "cycle-%ld", ci + 1);
	snprintf(started, sizeof(started), "%s-started", phase);
	cy->deleted = cy->reinserted = got;
	cy->how = PH_RUN;
	/* picks other than the cut-short run's die here, before anything is deleted */
	begun = picks_get(c, w, started, ids, got);
	if ((fig = phase_get(c, w, phase, &rows, when, sizeof(when))))
	{
		if (sscanf(fig, "%lf %lld %lld %d", &cy->vacuum_s, &cy->index_bytes, &cy->table_bytes, &cy->how) != 4 ||
			rows != got)
			die("write --resume: the record of %s ('%s', %ld rows) is not what these options give (%ld rows)", phase,
				fig, rows, got);
		/* the rows it reinserted: ids from *next_id, the deleted rows' vectors */
		live_add_rows(L, next_id, vecs, got);
		phase_note(w, phase, 1, cy->how);
		from_record = 1;
		free(fig);
	}
	else
	{
		if (!begun)
			phase_put(c, w, started, got, PICKS_FMT, got, (unsigned long long) ids_hash(ids, got));
		delete_ids(c, w->wt, ids, got, O.delete_batch);
		cy->vacuum_s = timed_vacuum(c, w->wt);
		if (begun)
		{
			/* the rows it had reinserted stay, the others go in now (same ids and vectors) */
			insert_missing(c, ds, s, w->wt, *next_id, vecs, got, 100);
			live_add_rows(L, next_id, vecs, got);
			cy->how = PH_RESUMED;
		}
		else
			reinsert_rows(c, ds, s, w->wt, vecs, got, 100, next_id, L, NULL);
		cy->index_bytes = db_int(c, "SELECT pg_relation_size('%s')", w->widx);
		cy->table_bytes = db_int(c, "SELECT pg_table_size('%s')", w->wt);
		phase_put(c, w, phase, got, "%.17g %lld %lld %d", cy->vacuum_s, cy->index_bytes, cy->table_bytes, cy->how);
		phase_note(w, phase, 0, cy->how);
	}
	printf("  cycle %ld: deleted %ld, VACUUM %.2f s, reinserted %ld: index %.1f MB, table %.1f MB", ci + 1, got,
		   cy->vacuum_s, got, cy->index_bytes / 1048576.0, cy->table_bytes / 1048576.0);
	if (cy->how == PH_RESUMED)
		printf(" (resumed: the cycle was cut short; its delete and VACUUM ran again, the rows it had not "
			   "reinserted went in: the VACUUM time is not a measurement)");
	print_line_end(from_record ? when : NULL);
	free(begun);
	free(ids);
	free(vecs);
}

static void
json_phases(Json *j, const WriteRun *w, const char *key, char kind)
{
	int			i;

	j_arr(j, key);
	for (i = 0; i < w->nph; i++)
		if (w->ph_kind[i] == kind)
			j_str(j, NULL, w->ph_name[i]);
	j_end(j);
}

/*
 * the time of a phase: key, or, when the phase was not run whole in this run
 * (gone on with after a cut, how != PH_RUN), key null and key_resumed
 */
static void
json_seconds(Json *j, const char *key, double secs, int how)
{
	char		rkey[64];

	if (how == PH_RUN)
	{
		j_num(j, key, secs);
		return;
	}
	snprintf(rkey, sizeof(rkey), "%s_resumed", key);
	j_num(j, key, NAN);
	j_num(j, rkey, secs);
}

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
		json_seconds(j, "seconds", w->ir[i].seconds, w->ir_how[i]);
		j_num(j, "rows_per_second", w->ir[i].rows_per_s);
		j_num(j, "commit_p50_ms", w->ir[i].commit_p50);
		j_num(j, "commit_p99_ms", w->ir[i].commit_p99);
		if (w->ir_how[i] != PH_RUN)
			j_int(j, "rows_there_at_resume", w->ir_there[i]);
		j_end(j);
	}
	j_end(j);
	j_obj(j, "delete");
	j_int(j, "rows", w->ndel);
	j_num(j, "fraction", O.delete_frac);
	json_seconds(j, "seconds", w->del_s, w->del_how);
	j_num(j, "rows_per_second", w->del_how == PH_RUN ? rows_per_s(w->ndel, w->del_s) : NAN);
	j_int(j, "index_bytes_before", w->size_before);
	j_int(j, "index_bytes_after_delete", w->size_after_del);
	if (w->del_still >= 0)
		j_int(j, "rows_still_there_at_resume", w->del_still);
	j_end(j);
	j_obj(j, "vacuum");
	json_seconds(j, "seconds", w->vac_s, w->vac_how);
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
		json_seconds(j, "vacuum_seconds", w->cyc[i].vacuum_s, w->cyc[i].how);
		j_int(j, "index_bytes", w->cyc[i].index_bytes);
		j_int(j, "table_bytes", w->cyc[i].table_bytes);
		j_end(j);
	}
	j_end(j);
	if (w->ncyc > 0)
		json_write_recall(j, "recall_after_cycles", &w->cycles);
	if (w->resumed)
	{
		/* phases named as in vecbench_meta's progress record */
		j_obj(j, "progress");
		j_bool(j, "resumed", w->resumed);
		json_phases(j, w, "from_record", 'r');
		json_phases(j, w, "resumed_phases", 's');
		json_phases(j, w, "no_figures", 'n');
		j_end(j);
	}
}

/*
 * --in-place: the spec's own table and the index 'build' made, with a btree
 * on id for the deletes (as the work table's primary key); the table is
 * marked changed first, with the progress record's options in the same
 * transaction, so that later subcommands do not take it for the data set as
 * loaded and a run cut short can go on (--resume)
 */
static void
in_place_table(PGconn *c, const Dataset *ds, const Spec *s, const long *batches, WriteRun *w)
{
	char	   *opts,
			   *fig,
			   *esc;
	char		when[32];
	int			plen;

	snprintf(w->wt, sizeof(w->wt), "%s", s->table);
	snprintf(w->widx, sizeof(w->widx), "%s", s->index);
	memset(&w->br, 0, sizeof(w->br));
	if (table_written(c, w->wt))
	{
		/* a table of a non-real[] spec (the base table is refused when loading) */
		if (!O.resume)
			die("write --in-place: table %s was changed by an earlier 'write --in-place': one cut short goes on "
				"with --resume and its options, else reload it ('vecbench load --force', build)", w->wt);
		w->resumed = 1;
	}
	else
	{
		if (O.resume)
			printf("== write: --resume: %s is as loaded (no in-place write on it to go on with): a new run\n",
				   w->wt);
		ensure_spec_tables(c, ds, s);
	}
	if (has_index(s) && !index_exists(c, s->index))
		die("write --in-place: index %s does not exist (run 'vecbench build' with the same options first)",
			s->index);
	opts = write_options_text(c, ds, s, batches, w);
	if (w->resumed)
	{
		if (!(fig = phase_get(c, w, "options", NULL, when, sizeof(when))))
			die("write --in-place --resume: %s was changed by an in-place write that left no progress record (a "
				"vecbench without progress records): what it did is not known, nothing to go on with; reload it "
				"('vecbench load --force', build, write; bench/scale.sh: --redo load)", w->wt);
		options_check(w, fig, opts, when);
		free(fig);
		if ((fig = phase_get(c, w, "done", NULL, when, sizeof(when))))
		{
			printf("== write: the in-place write on %s finished (%s), its JSON line is in the results file: nothing "
				   "to resume\n", w->wt, when);
			w->finished = 1;
			free(fig);
			free(opts);
			return;
		}
		fig = phase_get(c, w, "start", NULL, when, sizeof(when));
		print_resume_header(c, w, when);
		if (!fig || sscanf(fig, "%lld %lld", &w->br.index_bytes, &w->br.table_bytes) != 2)
			die("write --resume: the record of the start does not read: '%s'", fig ? fig : "(none)");
		free(fig);
	}
	else
	{
		printf("== write: %s on %s in place (index %s as 'build' left it)\n", s->label, w->wt,
			   has_index(s) ? s->index : "none");
		w->br.index_bytes = has_index(s) ? db_int(c, "SELECT pg_relation_size('%s')", w->widx) : 0;
		w->br.table_bytes = db_int(c, "SELECT pg_table_size('%s')", w->wt);
		db_exec(c, "BEGIN");
		mark_table_written(c, w->wt);
		esc = progress_prefix(c, w, &plen);
		db_exec(c, "DELETE FROM vecbench_meta WHERE left(tbl, %d) = %s", plen, esc);
		PQfreemem(esc);
		phase_put(c, w, "options", ds->n, "%s", opts);
		phase_put(c, w, "start", 0, "%lld %lld", w->br.index_bytes, w->br.table_bytes);
		db_exec(c, "COMMIT");
	}
	free(opts);
	db_exec(c, "ALTER TABLE %s SET (autovacuum_enabled = off)", w->wt);
	if (!O.quiet)
		fprintf(stderr, "write: btree on %s (id) for the deletes...\n", w->wt);
	db_exec(c, "CREATE INDEX IF NOT EXISTS %.40s_id_btree ON %s (id)", w->wt, w->wt);
	w->br.seconds = NAN;
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
				bi,
				cycles_begun;
	char	   *fig;

	w->resumed = w->finished = 0;
	w->nph = 0;
	if (O.in_place)
	{
		in_place_table(c, ds, s, batches, w);
		if (w->finished)
			return;
	}
	else
	{
		ensure_spec_tables(c, ds, s);
		work_table_names(s, "w", w->wt, sizeof(w->wt), w->widx, sizeof(w->widx));
		printf("== write: %s on %s (copy of %s)\n", s->label, w->wt, s->table);
		work_table(c, ds, s, w->wt, w->widx, &w->br);
	}
	live_init(&L, ds->n);
	phase_recall(c, ds, s, w, &L, nq, &w->before, "recall-initial", "initial");

	/* inserts, batch sizes: ids from n, the extra vectors in order */
	for (bi = 0; bi < w->nb; bi++)
	{
		InsResult  *ir = &w->ir[bi];

		phase_insert(c, ds, s, w, bi, (int) batches[bi], next_id, xoff);
		for (i = 0; i < ir->rows; i++)
			live_add(&L, next_id + i, extra_vec(ds, xoff + i));
		next_id += ir->rows;
		xoff += ir->rows;
	}
	/* delete a fraction of the rows: the picks follow from the seed (a resumed run makes the same) */
	rng_seed(&rng, O.seed, 77, si);
	w->ndel = (long) (O.delete_frac * live_count(&L));
	del_ids = xmalloc(sizeof(int64_t) * (w->ndel + 1));
	del_vecs = xmalloc(sizeof(float *) * (w->ndel + 1));
	w->ndel = pick_live(&L, &rng, w->ndel, del_ids, del_vecs, ds);
	phase_delete(c, w, del_ids);
	/* once a cycle has begun, the table holds its changes too: checked after the cycles */
	fig = phase_get(c, w, "cycle-1-started", NULL, NULL, 0);
	cycles_begun = fig != NULL;
	free(fig);
	if (w->resumed && !cycles_begun)
		live_check(c, w, &L, "after the delete");
	phase_vacuum(c, w);
	phase_recall(c, ds, s, w, &L, nq, &w->after, "recall-after", "after delete+VACUUM");

	/* delete + reinsert cycles */
	for (i = 0; i < w->ncyc; i++)
		phase_cycle(c, ds, s, w, &L, &rng, &next_id, i);
	if (w->resumed && cycles_begun)
		live_check(c, w, &L, "after the cycles");
	if (w->ncyc > 0)
		phase_recall(c, ds, s, w, &L, nq, &w->cycles, "recall-cycles", "after cycles");
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
		if (w->finished)
			continue;
		g_last_write.recall_before = w->before.q[w->before.n - 1].recall10;
		g_last_write.recall_after_vacuum = w->after.q[w->after.n - 1].recall10;
		g_last_write.recall_after_cycles = w->cycles.n ? w->cycles.q[w->cycles.n - 1].recall10 : NAN;

		meta_refresh_extensions(r.c);
		json_run_begin(&j, "write", &r.ds, &r.specs[si]);
		json_write(&j, w);
		json_run_end(&j);
		if (O.in_place)
			phase_put(r.c, w, "done", 0, "%s", "");
		if (!O.force && !O.in_place)
			db_exec(r.c, "DROP TABLE IF EXISTS %s", w->wt);
	}
	free(w);
	end_run(&r);
	return 0;
}
