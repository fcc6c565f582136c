/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  VACUUM for vechnsw: remove dead heap TIDs, report statistics.
 *
 * ambulkdelete visits every element page once, under a cleanup lock, and
 * drops each heap TID the callback reports dead before it returns, so the
 * heap may reuse those line pointers afterwards.  An element left with no
 * heap TIDs becomes VEC_ELEM_DELETED: it stays in the graph as a waypoint
 * (its edges keep the graph connected) and scans never return it.  Pruning
 * edges to deleted elements and recycling their slots is the delete
 * lifecycle (docs/DELETE_LIFECYCLE.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "vecidx.h"

IndexBulkDeleteResult *
vechnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	BlockNumber blkno = VECHNSW_METAPAGE_BLKNO + 1;
	BlockNumber nblocks;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	/* pages added while we run hold only TIDs newer than this VACUUM */
	nblocks = RelationGetNumberOfBlocks(index);
	for (; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;
		GenericXLogState *state = NULL;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBufferForCleanup(buf);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !(VecPageGetOpaque(page)->flags & VEC_PAGE_ELEMENT))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}

		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			VecElementTuple et;
			ItemPointerData keep[VECHNSW_HEAPTIDS];
			int			nkeep = 0;

			if (!ItemIdIsNormal(iid))
				continue;
			et = (VecElementTuple) PageGetItem(page, iid);
			if (et->type != VEC_TUPLE_ELEMENT || et->state != VEC_ELEM_LIVE)
				continue;

			for (int i = 0; i < et->ntids; i++)
			{
				if (callback(&et->heaptids[i], callback_state))
					stats->tuples_removed++;
				else
					keep[nkeep++] = et->heaptids[i];
			}
			stats->num_index_tuples += nkeep;
			if (nkeep == et->ntids)
				continue;

			/* first change on this page: start its WAL record */
			if (state == NULL)
			{
				state = GenericXLogStart(index);
				page = GenericXLogRegisterBuffer(state, buf, 0);
				et = (VecElementTuple) PageGetItem(page, PageGetItemId(page, off));
			}
			memcpy(et->heaptids, keep, sizeof(ItemPointerData) * nkeep);
			for (int i = nkeep; i < VECHNSW_HEAPTIDS; i++)
				ItemPointerSetInvalid(&et->heaptids[i]);
			et->ntids = nkeep;
			if (nkeep == 0)
				et->state = VEC_ELEM_DELETED;
		}

		if (state != NULL)
			GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}

	stats->num_pages = nblocks;
	return stats;
}

IndexBulkDeleteResult *
vechnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;

	/* no ambulkdelete this time: count what is there */
	if (stats == NULL)
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(index);

		stats = palloc0(sizeof(IndexBulkDeleteResult));
		for (BlockNumber blkno = VECHNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
		{
			Buffer		buf;
			Page		page;

			vacuum_delay_point();
			buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			if (!PageIsNew(page) && (VecPageGetOpaque(page)->flags & VEC_PAGE_ELEMENT))
			{
				OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

				for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
				{
					ItemId		iid = PageGetItemId(page, off);
					VecElementTuple et;

					if (!ItemIdIsNormal(iid))
						continue;
					et = (VecElementTuple) PageGetItem(page, iid);
					if (et->type == VEC_TUPLE_ELEMENT && et->state == VEC_ELEM_LIVE)
						stats->num_index_tuples += et->ntids;
				}
			}
			UnlockReleaseBuffer(buf);
		}
	}

	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}
