/*-------------------------------------------------------------------------
 *
 * hnswcost.c
 *	  Cost estimate for vechnsw scans.
 *
 * The index only serves ORDER BY <distance operator> (normally with a
 * LIMIT).  Without an ORDER BY on its operator the index is useless, so the
 * cost is infinite and the planner never picks it.  With one, a scan is
 * costed as visiting ef_search * 2m * 0.5 = ef_search * m elements on
 * level 0 plus m * log_m(N) for the descent through the upper levels (N
 * elements at most), each one a page read and a distance computation, all
 * before the first row comes out (startup cost = total cost).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "access/genam.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"

#include "vecidx.h"

void
vechnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	GenericCosts costs;
	IndexOptInfo *index = path->indexinfo;
	double		ntuples = Max(index->tuples, 1);
	double		visited;
	int			m = VECHNSW_DEFAULT_M;

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

	/* elements whose distance a scan computes */
	visited = (double) vechnsw_ef_search * 2 * m * 0.5 +
		m * log(ntuples) / log((double) m);
	visited = Min(visited, ntuples);

	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = visited;
	genericcostestimate(root, path, loop_count, &costs);

	/* one distance (a few hundred operations) per visited element */
	*indexStartupCost = costs.indexTotalCost + visited * cpu_operator_cost * 10;
	*indexTotalCost = *indexStartupCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}
