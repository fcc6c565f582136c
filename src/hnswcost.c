/*-------------------------------------------------------------------------
 *
 * hnswcost.c
 *	  Cost estimate for vechnsw scans.
 *
 * The index only serves ORDER BY <distance operator> (normally with a
 * LIMIT).  Without an ORDER BY on its operator the index is useless, so the
 * cost is infinite and the planner never picks it.
 *
 * With one, the cost is counted in element visits: a visit reads an
 * element's page (a buffer access, and a random read when the index does not
 * fit in effective_cache_size) and computes one distance.  Per visit:
 *
 *		VEC_VISIT_COST * cpu_operator_cost				(buffer access, distance, bookkeeping)
 *	  + random_page_cost * max(0, 1 - cache / pages)	(reads missing the cache)
 *
 * A visit's cost does not grow with the dimensions: the measured times
 * (64 and 784 dimensions) did not show it next to the buffer work.  The
 * executor's distances (a sequential scan's for every row, an index scan's
 * for every row returned) are costed by the distance functions' support
 * function below.
 *
 * The first search visits ef_search * m elements on level 0 plus
 * m * log_m(N) on the way down through the upper levels, before the first
 * row comes out: that is the startup cost.  Every further row costs about
 * 3m visits: a scan that needs more rows than its list holds searches again
 * with a list twice as long (the searches up to a list of F elements expand
 * about 2F elements, F <= 2 * rows, each visiting about m new neighbours).
 * The total cost is that of returning all N rows.
 *
 * This is what makes a filter's selectivity count: the planner charges a
 * LIMIT k over a path of R rows (R = the table's rows times the filter's
 * selectivity) startup + (total - startup) * k / R, i.e. the walk through
 * k / selectivity index rows that producing k rows that pass the filter
 * takes.  A 1 % filter with LIMIT 10 is costed as a walk through 1,000 rows
 * and loses to a sequential scan on a small table, while an unfiltered
 * LIMIT 10 costs about the first search alone.  VEC_VISIT_COST was set from
 * measured times (docs/BENCHMARKS.md, "Filtered queries").  The work limit
 * (vechnsw.max_scan_tuples) is not part of the estimate: a scan cut short
 * costs less than estimated but may return fewer rows than the LIMIT, so a
 * plan that reads the whole table is preferred wherever the walk would be
 * long.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/heaptoast.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "nodes/supportnodes.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"
#include "utils/array.h"

#include "vecidx.h"

/* a visit's fixed work, in units of cpu_operator_cost */
#define VEC_VISIT_COST	70.0
/* visits per row past the first search */
#define VEC_VISITS_PER_ROW(m)	(3.0 * (m))

void
vechnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	GenericCosts costs;
	IndexOptInfo *index = path->indexinfo;
	double		ntuples = Max(index->tuples, 1);
	double		startup_visits,
				total_visits,
				visit_cost,
				miss;
	double		random_page_cost;
	int			m;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	{
		Relation	rel = index_open(index->indexoid, NoLock);

		m = vec_index_info(rel)->m;
		index_close(rel, NoLock);
	}

	/* elements the first search visits, and the walk through all N rows */
	startup_visits = (double) vechnsw_ef_search * m +
		m * log(ntuples) / log((double) Max(m, 2));
	startup_visits = Min(startup_visits, ntuples * VEC_VISITS_PER_ROW(m));
	total_visits = Max(startup_visits, ntuples * VEC_VISITS_PER_ROW(m));

	get_tablespace_page_costs(index->reltablespace, &random_page_cost, NULL);
	miss = 0;
	if (index->pages > 0 && index->pages > effective_cache_size)
		miss = 1.0 - (double) effective_cache_size / index->pages;
	visit_cost = cpu_operator_cost * VEC_VISIT_COST + random_page_cost * miss;

	/* selectivity (1: no index quals) and the cost of the ORDER BY argument */
	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = ntuples;
	genericcostestimate(root, path, loop_count, &costs);

	*indexStartupCost = startup_visits * visit_cost;
	*indexTotalCost = total_visits * visit_cost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = Min(index->pages, startup_visits);
}

/*
 * Planner support for the distance functions: the cost of one call.
 *
 * A distance costs one cpu_operator_cost per 16 dimensions (the kernels do
 * 16 multiply-adds per step), and, when the vector comes from a column whose
 * values may be compressed or out of line (storage other than PLAIN) and are
 * large enough for PostgreSQL to move them there, the de-TOASTing of it
 * (VEC_DETOAST_COST cpu_operator_costs: about 2 us out of line, 4 us
 * compressed at 784 dimensions, measured).  Without this a sequential scan
 * that computes the distance of every row was charged as if each were one
 * comparison, whatever the dimensions: a small table of 2,100-dimensional
 * out-of-line vectors got a sequential scan that de-TOASTs every row instead
 * of the index.  The dimensions come from a constant argument, or from the
 * vechnsw index on a column argument; when neither says, the function's
 * declared cost applies.
 */
#define VEC_DETOAST_COST	200.0

static int
vec_arg_dims(PlannerInfo *root, Node *arg, bool *toastable)
{
	if (IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (IsA(arg, Const))
	{
		Const	   *c = (Const *) arg;
		ArrayType  *a;

		if (c->constisnull || c->constlen != -1)
			return -1;
		a = DatumGetArrayTypeP(c->constvalue);
		return ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : -1;
	}
	if (IsA(arg, Var) && root != NULL && ((Var *) arg)->varlevelsup == 0)
	{
		Var		   *var = (Var *) arg;
		RangeTblEntry *rte;
		RelOptInfo *rel;
		HeapTuple	tup;
		int			dims = -1;
		ListCell   *lc;

		if (var->varno < 1 || var->varno >= root->simple_rel_array_size ||
			var->varattno <= 0)
			return -1;
		rte = root->simple_rte_array[var->varno];
		rel = root->simple_rel_array[var->varno];
		if (rte == NULL || rte->rtekind != RTE_RELATION)
			return -1;
		tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(rte->relid),
							  Int16GetDatum(var->varattno));
		if (HeapTupleIsValid(tup))
		{
			*toastable = ((Form_pg_attribute) GETSTRUCT(tup))->attstorage != TYPSTORAGE_PLAIN;
			ReleaseSysCache(tup);
		}
		if (rel == NULL)
			return -1;
		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *ii = (IndexOptInfo *) lfirst(lc);

			if (ii->amcostestimate == vechnswcostestimate && ii->ncolumns == 1 &&
				ii->indexkeys[0] == var->varattno)
			{
				Relation	irel = index_open(ii->indexoid, NoLock);

				dims = vec_index_info(irel)->dim;
				index_close(irel, NoLock);
				if (dims > 0)
					break;
			}
		}
		return dims > 0 ? dims : -1;
	}
	return -1;
}

PG_FUNCTION_INFO_V1(vecidx_distance_support);
Datum
vecidx_distance_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestCost *req;
	List	   *args;
	ListCell   *lc;
	int			dims = -1;
	bool		toastable = false;

	if (!IsA(rawreq, SupportRequestCost))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestCost *) rawreq;
	if (req->node == NULL)
		PG_RETURN_POINTER(NULL);
	if (IsA(req->node, OpExpr))
		args = ((OpExpr *) req->node)->args;
	else if (IsA(req->node, FuncExpr))
		args = ((FuncExpr *) req->node)->args;
	else
		PG_RETURN_POINTER(NULL);

	foreach(lc, args)
	{
		bool		t = false;
		int			d = vec_arg_dims(req->root, (Node *) lfirst(lc), &t);

		toastable |= t;
		if (d > 0)
			dims = d;
	}
	if (dims <= 0)
		PG_RETURN_POINTER(NULL);

	req->startup = 0;
	req->per_tuple = cpu_operator_cost * (1.0 + dims / 16.0);
	if (toastable && VARHDRSZ + ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * (Size) dims > TOAST_TUPLE_THRESHOLD)
		req->per_tuple += cpu_operator_cost * VEC_DETOAST_COST;
	PG_RETURN_POINTER(req);
}
