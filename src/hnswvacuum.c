/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  VACUUM for vechnsw: remove dead heap TIDs, repair the graph around
 *	  elements left without rows, free their slots for reuse.
 *
 * ambulkdelete runs four steps (docs/DELETE_LIFECYCLE.md has the state
 * diagram, docs/LOCKING.md the locks):
 *
 * 1. TIDs: visit every element page once under a cleanup lock and drop each
 *	  heap TID the callback reports dead, before returning (the heap may
 *	  reuse those line pointers afterwards).  An element left with no TIDs
 *	  becomes DELETED.  Every DELETED element (also ones an interrupted
 *	  earlier VACUUM left) is collected.
 * 2. Barrier: take the entry lock exclusively for a moment.  If the entry
 *	  point is deleted it moves to the highest live element (or the graph
 *	  becomes empty).  Taking the lock waits for every insert that started
 *	  before: only those can still link to an element that was live when
 *	  they looked at it.  Inserts that start later never choose a deleted
 *	  element as a neighbour (the search keeps them out of its results).
 * 3. Repair: every live element whose list (any level) names a deleted
 *	  element gets those edges replaced: the candidates are its remaining
 *	  neighbours plus the deleted elements' neighbours on that level (and,
 *	  through a deleted one, their neighbours: two hops), ranked by the same
 *	  heuristic as inserts, installed by the same optimistic list update.
 *	  No graph search: the work per repaired list is the candidates'
 *	  distances and the heuristic.
 * 4. Free: now no live list names them, so every collected element becomes
 *	  FREE: its element tuple shrinks to a header with the version bumped
 *	  (an edge with the old version is stale and ignored), its neighbour
 *	  tuple to an empty one, and the page's free space goes to the free
 *	  space map, where inserts look for room before extending the index.
 *
 * When the deleted elements' lists do not fit in maintenance_work_mem,
 * steps 3 and 4 run in several rounds of as many as fit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/defrem.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "postmaster/autovacuum.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/pg_rusage.h"
#include "tcop/pquery.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "vecidx.h"

/* one element without heap TIDs, to be repaired away and freed */
typedef struct VecDeadElem
{
	uint64		id;
	uint16		version;
	uint8		level;
	ItemPointerData ntid;
	Size		lists;			/* offset of its lists in VecVacState.lists,
								 * (level + 2) * m entries; id 0 = empty */
} VecDeadElem;

typedef struct VecVacState
{
	Relation	index;
	IndexVacuumInfo *info;
	VecIndexInfo *vinfo;
	VecDiskGraph dg;
	int			m;
	int			dim;
	int			max_level;		/* the meta page's when VACUUM began: no
								 * element may be higher (it only falls, as
								 * the first vector fixes the code size) */

	VecDeadElem *dead;			/* in id (= block, offset) order */
	int			ndead;
	int			capdead;
	VecIdSet	alldead;		/* ids of all of them */

	/* the current round: dead[rfirst .. rend) */
	int			rfirst;
	int			rend;
	VecIdSet	rounddead;
	VecIdSet	roundntids;		/* their neighbour tuples' ids */
	VecNbr	   *lists;

	/* live elements seen in step 1, in id order, for the reachability pass */
	VecCand    *live;
	int64		nlive;
	int64		caplive;
	bool		live_overflow;	/* more than the memory budget allows */
	int64		unreachable_fixed;
	int64		unreachable_found;
	int64		links_forced;	/* in-edges forced past the heuristic */
	int			reach_walks;	/* breadth-first walks made */
	int32	   *indeg;			/* step 5: in-edges of st->live[i] from the
								 * lists the last walk read, or NULL */

	/* the entry point after the barrier, for the searches of starved lists */
	VecMetaPageData *meta;
	int64		lists_searched;
	int64		backlinks;

	/* highest live element seen in step 1: the new entry point if needed */
	uint64		best_id;
	uint16		best_version;
	int			best_level;

	/* counters for VACUUM VERBOSE */
	int64		newly_deleted;
	int64		lists_repaired;
	int64		edges_replaced;
	int64		list_retries;
	int64		freed;
	int64		pages_with_room;
	bool		entry_moved;

	/* progress messages of long passes (VERBOSE) */
	int			elevel;
	TimestampTz last_report;
} VecVacState;

/* under VERBOSE, say every 10 s how far a long pass has come */
static void
vec_vacuum_progress(VecVacState *st, const char *pass, BlockNumber blkno, BlockNumber nblocks)
{
	TimestampTz now;

	if (st->elevel < INFO)
		return;
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(st->last_report, now, 10000))
		return;
	st->last_report = now;
	ereport(st->elevel,
			(errmsg("index \"%s\": %s: block %u of %u",
					RelationGetRelationName(st->index), pass, blkno, nblocks)));
}

/*
 * The level of this VACUUM's own messages.  PostgreSQL 15 passes index AMs
 * message_level DEBUG2 even under VACUUM VERBOSE, so look at the VACUUM
 * statement being run: with VERBOSE, report at INFO like the heap does.
 */
static int
vec_vacuum_elevel(IndexVacuumInfo *info)
{
	ListCell   *lc;

	if (info->message_level > DEBUG2 || IsAutoVacuumWorkerProcess() ||
		ActivePortal == NULL)
		return info->message_level;
	foreach(lc, ActivePortal->stmts)
	{
		PlannedStmt *ps = lfirst_node(PlannedStmt, lc);
		ListCell   *oc;

		if (ps->utilityStmt == NULL || !IsA(ps->utilityStmt, VacuumStmt))
			continue;
		foreach(oc, ((VacuumStmt *) ps->utilityStmt)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, oc);

			if (strcmp(opt->defname, "verbose") == 0 && defGetBoolean(opt))
				return INFO;
		}
	}
	return info->message_level;
}

/*
 * Record how much room a page has for new tuples (a hint for inserts).  The
 * caller reads the amount under the page's lock and calls this after
 * releasing it: the map's own buffers (and, to grow the map, the relation
 * extension lock) are never taken while an index page is locked.
 */
void
vec_record_free_space(Relation index, BlockNumber blkno, Size avail)
{
	RecordPageWithFreeSpace(index, blkno, avail);
}

static Size
vec_page_free_space(Relation index, BlockNumber blkno, BufferAccessStrategy strategy)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
	Page		page;
	Size		avail;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	avail = PageIsNew(page) ? 0 : PageGetExactFreeSpace(page);
	UnlockReleaseBuffer(buf);
	return avail;
}

/* a page has free element slots, or room worth announcing */
static bool
vec_page_has_room(Page page, Size pairsize)
{
	OffsetNumber maxoff;

	if (PageIsNew(page))
		return false;
	if (PageGetExactFreeSpace(page) >= pairsize)
		return true;
	maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		VecElementTuple et = vec_page_item(page, off);

		if (et && et->type == VEC_TUPLE_ELEMENT && et->state == VEC_ELEM_FREE)
			return true;
	}
	return false;
}

/* index of element id in st->dead, or -1 */
static int
vec_dead_find(VecVacState *st, uint64 id)
{
	return (int) vec_bsearch_id(st->dead, st->ndead, sizeof(VecDeadElem),
								offsetof(VecDeadElem, id), id);
}

/*
 * Step 1: remove dead heap TIDs page by page; collect the deleted elements.
 */
static void
vec_vacuum_tids(VecVacState *st, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = st->index;
	Size		pairsize = MAXALIGN(VEC_ELEMENT_TUPLE_SIZE(st->dim, st->vinfo->storage,
													   st->dg.code_bytes)) +
		MAXALIGN(VEC_NEIGHBOR_TUPLE_SIZE(0, st->m, st->dg.code_bytes)) + 2 * sizeof(ItemIdData);
	VecPageWalk walk;
	Buffer		buf;
	Page		page;

	/* pages added while we run hold only TIDs newer than this VACUUM */
	vec_walk_init(&walk, index, st->info->strategy);
	while ((page = vec_walk_next(&walk, VEC_LOCK_CLEANUP, &buf)) != NULL)
	{
		BlockNumber blkno = walk.blkno;
		OffsetNumber maxoff;
		GenericXLogState *state = NULL;
		bool		room;

		vec_vacuum_progress(st, "removing heap TIDs", blkno, walk.nblocks);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			Size		len;
			VecElementTuple et = vec_page_item_len(page, off, &len);
			ItemPointerData keep[VECHNSW_HEAPTIDS];
			ItemPointerData etid;
			int			nkeep = 0;

			if (et == NULL || et->type != VEC_TUPLE_ELEMENT || len < VEC_ELEMENT_TOMBSTONE_SIZE ||
				et->state == VEC_ELEM_FREE)
				continue;
			/*
			 * (A level above the meta page's maximum would become the entry
			 * level below and turn one damaged tuple into a meta page every
			 * scan rejects.)
			 */
			if (et->ntids > VECHNSW_HEAPTIDS || et->state > VEC_ELEM_FREE ||
				et->level > st->max_level)
			{
				if (state != NULL)
					GenericXLogAbort(state);
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("index \"%s\" has a corrupted element at (%u,%u)",
								RelationGetRelationName(index), blkno, off)));
			}
			ItemPointerSet(&etid, blkno, off);

			if (et->state == VEC_ELEM_LIVE)
			{
				for (int i = 0; i < et->ntids; i++)
				{
					if (callback(&et->heaptids[i], callback_state))
						stats->tuples_removed++;
					else
						keep[nkeep++] = et->heaptids[i];
				}
				stats->num_index_tuples += nkeep;
				if (nkeep != et->ntids)
				{
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
					{
						et->state = VEC_ELEM_DELETED;
						st->newly_deleted++;
					}
				}
			}

			if (et->state == VEC_ELEM_LIVE)
			{
				if ((int) et->level > st->best_level)
				{
					st->best_level = et->level;
					st->best_id = vec_tid_to_id(&etid);
					st->best_version = et->version;
				}
				continue;
			}

			/* deleted: to be repaired away and freed */
			if (st->ndead == st->capdead)
			{
				st->capdead *= 2;
				st->dead = repalloc_huge(st->dead, sizeof(VecDeadElem) * st->capdead);
			}
			st->dead[st->ndead].id = vec_tid_to_id(&etid);
			st->dead[st->ndead].version = et->version;
			st->dead[st->ndead].level = Min(et->level, VECHNSW_MAX_LEVEL);
			st->dead[st->ndead].ntid = et->neighbortid;
			st->ndead++;
			vec_idset_add(&st->alldead, vec_tid_to_id(&etid));
		}

		if (state != NULL)
			GenericXLogFinish(state);
		/* the buffer's page: GenericXLogFinish freed the image it handed out */
		room = vec_page_has_room(BufferGetPage(buf), pairsize);
		UnlockReleaseBuffer(buf);
		/* refresh the map (it is not WAL-logged: a crash or failover loses it) */
		if (room)
			vec_record_free_space(index, blkno,
								  vec_page_free_space(index, blkno, st->info->strategy));
	}
	stats->num_pages = walk.nblocks;
}

/*
 * Remember a live element for the reachability pass (step 5), within half
 * of maintenance_work_mem.
 */
static void
vec_vacuum_note_live(VecVacState *st, const VecCand *c)
{
	if (st->live_overflow)
		return;
	if (st->nlive == st->caplive)
	{
		if ((Size) st->caplive * 2 * sizeof(VecCand) > (Size) maintenance_work_mem * 1024 / 2)
		{
			st->live_overflow = true;
			return;
		}
		st->caplive *= 2;
		st->live = repalloc_huge(st->live, sizeof(VecCand) * st->caplive);
	}
	st->live[st->nlive++] = *c;
}

/*
 * Step 2: the barrier.  Moves the entry point off a deleted element.
 */
static void
vec_vacuum_barrier(VecVacState *st)
{
	Relation	index = st->index;
	Buffer		buf;
	Page		page;
	VecMetaPage meta;
	ItemPointerData etid;

	LockPage(index, VECHNSW_METAPAGE_BLKNO, ExclusiveLock);

	buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	meta = VecPageGetMeta(page);
	if (meta->entry_level >= 0 && BlockNumberIsValid(meta->entry_blkno))
	{
		ItemPointerSet(&etid, meta->entry_blkno, meta->entry_offno);
		if (vec_idset_contains(&st->alldead, vec_tid_to_id(&etid)))
		{
			GenericXLogState *state = GenericXLogStart(index);

			meta = VecPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
			if (st->best_level >= 0)
			{
				vec_id_to_tid(st->best_id, &etid);
				vec_meta_set_entry(meta, &etid, st->best_level, st->best_version);
			}
			else
			{
				/* no live element left: the graph starts again empty */
				vec_meta_set_entry(meta, NULL, -1, 0);
			}
			GenericXLogFinish(state);
			st->entry_moved = true;
		}
	}
	UnlockReleaseBuffer(buf);

	UnlockPage(index, VECHNSW_METAPAGE_BLKNO, ExclusiveLock);
}

/*
 * Load the lists of dead[first..] into memory until the budget is used;
 * returns the end of the round.
 */
static int
vec_vacuum_load_round(VecVacState *st, int first, Size budget)
{
	Size		used = 0;
	int			end = first;
	int			m = st->m;

	/* how many fit */
	while (end < st->ndead)
	{
		Size		need = sizeof(VecNbr) * VEC_NEIGHBOR_SLOTS(st->dead[end].level, m);

		if (end > first && used + need > budget)
			break;
		st->dead[end].lists = used / sizeof(VecNbr);
		used += need;
		end++;
	}
	st->lists = palloc_extended(Max(used, sizeof(VecNbr)), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	vec_idset_init(&st->rounddead, end - first);
	vec_idset_init(&st->roundntids, end - first);
	for (int i = first; i < end; i++)
	{
		VecDeadElem *d = &st->dead[i];
		VecNbr	   *l = st->lists + d->lists;
		BlockNumber blk = ItemPointerGetBlockNumberNoCheck(&d->ntid);
		Buffer		buf;
		Page		page;
		Size		len;
		VecNeighborTuple nt;

		vec_idset_add(&st->rounddead, d->id);
		if ((i & 255) == 0)
			vacuum_delay_point();
		/* (only this VACUUM changes a deleted element's tuples) */
		if (!ItemPointerIsValid(&d->ntid))
			vec_report_corrupt(st->index, (BlockNumber) (d->id >> 16), (OffsetNumber) (d->id & 0xFFFF),
							   "deleted element with an invalid neighbour tuple pointer");
		vec_check_blkno(st->index, blk);

		/*
		 * Step 4 turns this neighbour tuple into a tombstone: it must be
		 * this element's alone.  Version and level alone do not tell (after
		 * a build every version is 0), so two deleted elements naming one
		 * tuple are refused here, and a live one naming it by the repair
		 * pass, which reads every live element before step 4.
		 */
		if (!vec_idset_add(&st->roundntids, vec_tid_to_id(&d->ntid)))
			vec_report_corrupt(st->index, (BlockNumber) (d->id >> 16), (OffsetNumber) (d->id & 0xFFFF),
							   "two deleted elements name the same neighbour tuple");
		buf = ReadBufferExtended(st->index, MAIN_FORKNUM, blk, RBM_NORMAL, st->info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		vec_check_page(st->index, page, blk);
		nt = vec_page_item_len(page, ItemPointerGetOffsetNumber(&d->ntid), &len);
		if (!vec_neighbor_matches(nt, len, d->version, d->level, m))
			vec_report_corrupt(st->index, blk, ItemPointerGetOffsetNumber(&d->ntid),
							   "a deleted element's neighbour tuple is missing or malformed");
		for (int s = 0; s < VEC_NEIGHBOR_SLOTS(d->level, m); s++)
		{
			VecNeighborEntry *e = &nt->entries[s];

			if (!ItemPointerIsValid(&e->tid))
				continue;
			l[s].id = vec_tid_to_id(&e->tid);
			l[s].version = e->version;
			l[s].distance = e->distance;
		}
		UnlockReleaseBuffer(buf);
	}
	return end;
}

/*
 * Candidates for a list that loses edges to deleted elements: the live
 * neighbours of those elements on the same level (first hop), then, while
 * there is room, the live neighbours of the deleted elements among them
 * (second hop: at high delete ratios many first-hop neighbours are gone
 * too).  seen holds the list's own entries and whatever was taken.
 */
static int
vec_vacuum_gather(VecVacState *st, const VecNbr *cur, int ncur, int lc, uint64 self,
				  VecIdSet *seen, VecNbr *cand, int maxcand)
{
	int			m = st->m;
	int			ncand = 0;
	int			hop2[4 * VECHNSW_MAX_M * VECHNSW_MAX_M / 8];
	int			nhop2 = 0;

	for (int pass = 0; pass < 2; pass++)
	{
		int			nsrc = pass == 0 ? ncur : nhop2;

		for (int s = 0; s < nsrc && ncand < maxcand; s++)
		{
			int			di;
			VecDeadElem *d;
			VecNbr	   *l;

			if (pass == 0)
			{
				if (!vec_idset_contains(&st->rounddead, cur[s].id) ||
					(di = vec_dead_find(st, cur[s].id)) < 0 ||
					st->dead[di].version != cur[s].version)
					continue;
			}
			else
				di = hop2[s];
			d = &st->dead[di];
			if (lc > d->level)
				continue;
			l = st->lists + d->lists + VEC_LEVEL_START(lc, m);
			for (int i = 0; i < VEC_LEVEL_CAP(lc, m) && ncand < maxcand; i++)
			{
				uint64		x = l[i].id;
				int			xi;

				if (x == 0 || x == self || !vec_idset_add(seen, x))
					continue;
				if (!vec_idset_contains(&st->alldead, x))
					cand[ncand++] = l[i];
				else if (pass == 0 && nhop2 < lengthof(hop2) &&
						 vec_idset_contains(&st->rounddead, x) &&
						 (xi = vec_dead_find(st, x)) >= 0 && st->dead[xi].version == l[i].version)
					hop2[nhop2++] = xi;
			}
		}
	}
	return ncand;
}

/* index of id in st->live (sorted), or -1 */
static int64
vec_live_find(VecVacState *st, uint64 id)
{
	return vec_bsearch_id(st->live, st->nlive, sizeof(VecCand), offsetof(VecCand, id), id);
}

/*
 * An edge VACUUM may take away to link an unreachable element (a forced
 * edit, step 5): one to an element that the last reachability walk saw
 * named by at least one other list.  Outside step 5 (no counts) any edge
 * may go.
 */
static bool
vec_vacuum_can_evict(void *arg, uint64 id)
{
	VecVacState *st = (VecVacState *) arg;
	int64		t;

	if (st->indeg == NULL)
		return true;
	t = vec_live_find(st, id);
	if (t < 0 || st->indeg[t] < 2)
		return false;
	st->indeg[t]--;
	return true;
}

/*
 * Neighbour search for base on level lc, as an insert's: greedy descent
 * from the entry point, then ef_construction on level lc.  Its live results
 * join the candidates cc[0..k) (returns the new count); the ones the
 * heuristic selects also get a back-link to base.
 */
static int
vec_vacuum_search(VecVacState *st, VecCand *base, int lc, const float *vec, VecCand *cc,
				  int k, int maxk, float *scratch, bool backlinks, bool ensure)
{
	VecGraph   *g = &st->dg.g;
	int			ef = Max(st->vinfo->ef_construction, VEC_LEVEL_CAP(lc, st->m));
	VecCand    *res = palloc(sizeof(VecCand) * ef);
	VecCand    *sel = palloc(sizeof(VecCand) * VEC_LEVEL_CAP(lc, st->m));
	VecCand		ep;
	VecIdSet	visited;
	int			n,
				nsel;

	if (st->meta->entry_level < lc || !vec_disk_entry(&st->dg, st->meta, vec, &ep))
		return k;
	st->lists_searched++;
	vec_greedy_descend(g, vec, &ep, st->meta->entry_level, lc);
	vec_idset_init(&visited, ef * st->m);
	n = vec_search_layer(g, vec, &ep, 1, ef, lc, res, &visited);
	pfree(visited.keys);

	/* back-links from the neighbours it would choose */
	nsel = backlinks ? vec_select_neighbors(g, res, n, VEC_LEVEL_CAP(lc, st->m), sel, scratch) : 0;
	/*
	 * With ensure, base must end up with an in-edge: if every list the
	 * heuristic would link from passed it over, the nearest one takes it in
	 * place of its farthest edge.
	 */
	if (vec_link_in_edges(g, base, sel, nsel, lc, ensure, false, vec_vacuum_can_evict, st, scratch))
		st->links_forced++;
	for (int i = 0; i < n && k < maxk; i++)
		if (res[i].id != base->id && !vec_idset_contains(&st->alldead, res[i].id))
			cc[k++] = res[i];
	pfree(res);
	pfree(sel);
	return k;
}

/*
 * Repair one live element's lists: every level whose list names an element
 * of this round gets those edges replaced, from candidates the heuristic
 * chooses among (it reads each one's vector); the new neighbours then get a
 * back-link to the element, as an insert's do.
 */
static void
vec_vacuum_repair_element(VecVacState *st, VecCand *base, float *vec, float *scratch,
						  VecNbr *cand, int maxcand, VecCand *cc, bool *ok, VecIdSet *seen)
{
	VecGraph   *g = &st->dg.g;
	int			m = st->m;
	VecNbr		cur[2 * VECHNSW_MAX_M];
	int			ncur;
	bool		have_vec = false;

	for (int lc = 0; lc <= base->level; lc++)
	{
		int			ncand,
					k = 0;
		bool		hit = false;
		VecListEdit edit;

		ncur = g->ops->neighbors(g, base, lc, cur);
		for (int i = 0; i < ncur && !hit; i++)
			hit = vec_idset_contains(&st->rounddead, cur[i].id);
		if (!hit)
			continue;

		if (!have_vec)
		{
			if (g->ops->vector(g, base->id, base->version, vec) == NULL)
				return;
			have_vec = true;
		}

		memset(seen->keys, 0, sizeof(uint64) * (seen->mask + 1));
		seen->count = 0;
		for (int i = 0; i < ncur; i++)
			vec_idset_add(seen, cur[i].id);
		ncand = vec_vacuum_gather(st, cur, ncur, lc, base->id, seen, cand, maxcand);

		/* their distances to the element, a batch of up to 2m at a time */
		for (int b = 0; b < ncand; b += 2 * m)
		{
			int			nb = Min(2 * m, ncand - b);
			int			first = k;

			g->ops->visit(g, cand + b, nb, vec, cc + first, ok);
			for (int i = 0; i < nb; i++)
			{
				if (!ok[i] || cc[first + i].state != VEC_ELEM_LIVE)
					continue;
				if (first + i != k)
					cc[k] = cc[first + i];
				k++;
			}
		}

		/*
		 * A list that would keep fewer than half the edges it had (most of
		 * its neighbours and theirs are gone: heavy deletes) gets what an
		 * insert gets: a search from the entry point on this level, and
		 * back-links from what it finds, so that the element stays
		 * reachable.  (Relative to what it had: heuristic lists are often
		 * less than half full to begin with.)
		 */
		{
			int			nkeep = 0;

			for (int i = 0; i < ncur; i++)
				if (!vec_idset_contains(&st->rounddead, cur[i].id))
					nkeep++;
			if (nkeep + k < Max(1, ncur / 2))
				k = vec_vacuum_search(st, base, lc, vec, cc, k, maxcand + 2 * m, scratch, true, false);
		}

		memset(&edit, 0, offsetof(VecListEdit, added));
		edit.add = cc;
		edit.nadd = k;
		edit.drop = &st->rounddead;
		edit.scratch = scratch;
		edit.fill = true;
		if (g->ops->update_list(g, base, lc, &edit))
		{
			st->lists_repaired++;
			st->edges_replaced += edit.ndropped;

			/*
			 * Back-links from the new neighbours, as an insert adds them:
			 * an element's in-edges from deleted elements are gone, and
			 * without these many live elements end up with none.
			 */
			for (int a = 0; a < edit.nadded; a++)
			{
				VecListEdit back;
				VecCand		me = *base;
				int			j;

				for (j = 0; j < k; j++)
					if (cc[j].id == edit.added[a])
						break;
				if (j == k)
					continue;
				me.dist = cc[j].dist;
				memset(&back, 0, offsetof(VecListEdit, added));
				back.add = &me;
				back.nadd = 1;
				back.scratch = scratch;
				if (g->ops->update_list(g, &cc[j], lc, &back))
					st->backlinks++;
				st->list_retries += back.retries;
			}
		}
		st->list_retries += edit.retries;
	}
}

/*
 * Step 3: repair every live element that names an element of this round.
 */
static void
vec_vacuum_repair(VecVacState *st)
{
	Relation	index = st->index;
	int			m = st->m;
	VecCand    *elems = palloc(sizeof(VecCand) * MaxOffsetNumber);
	float	   *vec = palloc(sizeof(float) * st->dim);
	float	   *scratch = palloc(sizeof(float) * st->dim * (2 * m + 1));
	int			maxcand = 8 * 2 * m;
	VecNbr	   *cand = palloc(sizeof(VecNbr) * maxcand);
	VecCand    *cc = palloc(sizeof(VecCand) * (maxcand + 2 * m));
	bool	   *ok = palloc(sizeof(bool) * 2 * m);
	VecIdSet	seen;
	MemoryContext tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw repair",
												 ALLOCSET_DEFAULT_SIZES);

	VecPageWalk walk;
	Buffer		buf;
	Page		page;

	vec_idset_init(&seen, maxcand + 2 * m);

	vec_walk_init(&walk, index, st->info->strategy);
	while ((page = vec_walk_next(&walk, BUFFER_LOCK_SHARE, &buf)) != NULL)
	{
		BlockNumber blkno = walk.blkno;
		OffsetNumber maxoff;
		int			n = 0;
		MemoryContext oldcxt;

		vec_vacuum_progress(st, "repairing neighbour lists", blkno, walk.nblocks);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			VecElementTuple et = vec_page_item(page, off);
			ItemPointerData etid;

			/* (vec_walk_next checked that every item is one of ours) */
			if (et->type != VEC_TUPLE_ELEMENT || et->state != VEC_ELEM_LIVE)
				continue;
			if (!ItemPointerIsValid(&et->neighbortid) || et->level > st->max_level)
				vec_report_corrupt(index, blkno, off, "live element with an invalid neighbour tuple pointer or level");
			if (vec_idset_contains(&st->roundntids, vec_tid_to_id(&et->neighbortid)))
				vec_report_corrupt(index, blkno, off, "a live element names a deleted element's neighbour tuple");
			ItemPointerSet(&etid, blkno, off);
			memset(&elems[n], 0, sizeof(VecCand));
			elems[n].id = vec_tid_to_id(&etid);
			elems[n].version = et->version;
			elems[n].level = et->level;
			elems[n].state = et->state;
			elems[n].ntid = et->neighbortid;
			n++;
		}
		UnlockReleaseBuffer(buf);

		/*
		 * The live elements for step 5, read after the barrier: this also
		 * catches rows inserted while step 1 ran, on pages it had passed.
		 */
		if (st->rfirst == 0)
			for (int i = 0; i < n; i++)
				vec_vacuum_note_live(st, &elems[i]);

		oldcxt = MemoryContextSwitchTo(tmpcxt);
		for (int i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			vec_vacuum_repair_element(st, &elems[i], vec, scratch, cand, maxcand, cc, ok, &seen);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(tmpcxt);
	}
	vec_disk_graph_done(&st->dg);
	MemoryContextDelete(tmpcxt);
}

/*
 * Overwrite deleted element d's neighbour tuple at off of a registered page
 * image with an empty one carrying the freed version; false if it is not
 * d's (or could not be overwritten).
 */
static bool
vec_vacuum_neighbor_tombstone(Page page, OffsetNumber off, const VecDeadElem *d, int m)
{
	Size		len;
	VecNeighborTuple nt = vec_page_item_len(page, off, &len);
	VecNeighborTupleData ntomb;

	if (!vec_neighbor_matches(nt, len, d->version, d->level, m))
		return false;
	memset(&ntomb, 0, sizeof(ntomb));
	ntomb.type = VEC_TUPLE_NEIGHBOR;
	ntomb.version = (uint16) (d->version + 1);
	ntomb.m = 0;
	return PageIndexTupleOverwrite(page, off, (Item) &ntomb, VEC_NEIGHBOR_TOMBSTONE_SIZE);
}

/* turn one deleted element (and its neighbour tuple if on this page) into
 * tombstones on the registered page image; false if it is not ours */
static bool
vec_vacuum_free_one(VecVacState *st, Page page, VecDeadElem *d, bool *ntuple_done)
{
	OffsetNumber off = (OffsetNumber) (d->id & 0xFFFF);
	VecElementTuple et = vec_page_item(page, off);
	VecElementTupleData tomb;

	*ntuple_done = false;
	if (et == NULL || et->type != VEC_TUPLE_ELEMENT || et->state != VEC_ELEM_DELETED ||
		et->version != d->version)
		return false;

	memcpy(&tomb, et, VEC_ELEMENT_TOMBSTONE_SIZE);
	tomb.state = VEC_ELEM_FREE;
	tomb.version = (uint16) (d->version + 1);
	tomb.ntids = 0;
	tomb.level = 0;
	tomb.codebytes = 0;
	for (int i = 0; i < VECHNSW_HEAPTIDS; i++)
		ItemPointerSetInvalid(&tomb.heaptids[i]);

	if (ItemPointerIsValid(&d->ntid) &&
		ItemPointerGetBlockNumber(&d->ntid) == (BlockNumber) (d->id >> 16))
		*ntuple_done = vec_vacuum_neighbor_tombstone(page, ItemPointerGetOffsetNumber(&d->ntid), d,
													 st->m);
	/* shrinking never fails; the element tuple is offset off */
	(void) PageIndexTupleOverwrite(page, off, (Item) &tomb, VEC_ELEMENT_TOMBSTONE_SIZE);
	return true;
}

/*
 * Step 4: free the elements of this round, a page (one WAL record) at a
 * time; neighbour tuples kept on another page are emptied afterwards.
 */
static void
vec_vacuum_free(VecVacState *st)
{
	Relation	index = st->index;
	int			i = st->rfirst;

	while (i < st->rend)
	{
		BlockNumber blkno = (BlockNumber) (st->dead[i].id >> 16);
		int			j = i;
		Buffer		buf;
		Page		page;
		GenericXLogState *state;

		while (j < st->rend && (BlockNumber) (st->dead[j].id >> 16) == blkno)
			j++;
		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, st->info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		vec_check_page(index, BufferGetPage(buf), blkno);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		for (int k = i; k < j; k++)
		{
			bool		ndone;

			if (vec_vacuum_free_one(st, page, &st->dead[k], &ndone))
			{
				st->freed++;
				if (ndone)
					ItemPointerSetInvalid(&st->dead[k].ntid);
			}
			else
				ItemPointerSetInvalid(&st->dead[k].ntid);
		}
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
		vec_record_free_space(index, blkno, vec_page_free_space(index, blkno, st->info->strategy));
		st->pages_with_room++;
		i = j;
	}

	/* neighbour tuples on other pages (large vectors or levels) */
	for (i = st->rfirst; i < st->rend; i++)
	{
		VecDeadElem *d = &st->dead[i];
		BlockNumber blkno;
		Buffer		buf;
		Page		page;
		GenericXLogState *state;

		vacuum_delay_point();
		if (!ItemPointerIsValid(&d->ntid))
			continue;
		blkno = ItemPointerGetBlockNumber(&d->ntid);
		vec_check_blkno(index, blkno);
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, st->info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		vec_check_page(index, page, blkno);
		state = GenericXLogStart(index);
		if (vec_vacuum_neighbor_tombstone(GenericXLogRegisterBuffer(state, buf, 0),
										  ItemPointerGetOffsetNumber(&d->ntid), d, st->m))
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
		UnlockReleaseBuffer(buf);
		vec_record_free_space(index, blkno, vec_page_free_space(index, blkno, st->info->strategy));
	}
}

/*
 * Queue the live elements (of st->live) that e's lists name (every level:
 * an element an upper-level edge leads to is where a search descending
 * through it starts on level 0) and not seen yet; count the edges into each.
 */
static void
vec_vacuum_visit_lists(VecVacState *st, const VecCand *e, bool *seen, int32 *queue,
					   int64 *tail)
{
	VecGraph   *g = &st->dg.g;
	VecNbr		nbrs[2 * VECHNSW_MAX_M];

	for (int lc = 0; lc <= e->level; lc++)
	{
		int			n = g->ops->neighbors(g, e, lc, nbrs);

		for (int i = 0; i < n; i++)
		{
			int64		t = vec_live_find(st, nbrs[i].id);

			if (t < 0 || st->live[t].version != nbrs[i].version)
				continue;
			if (st->indeg)
				st->indeg[t]++;
			if (!seen[t])
			{
				seen[t] = true;
				queue[(*tail)++] = (int32) t;
			}
		}
	}
}

/*
 * The graph is empty (step 2 found no live element) but the repair pass saw
 * live ones: rows inserted while step 1 ran, on pages it had passed.  Make
 * the highest of them the entry point (under the entry lock, if the graph
 * is still empty), so that the walk below links the others to it.
 */
static void
vec_vacuum_adopt_entry(VecVacState *st)
{
	Relation	index = st->index;
	int64		best = 0;
	Buffer		buf;
	GenericXLogState *state;
	VecMetaPage meta;
	ItemPointerData etid;

	for (int64 i = 1; i < st->nlive; i++)
		if (st->live[i].level > st->live[best].level)
			best = i;
	vec_id_to_tid(st->live[best].id, &etid);

	LockPage(index, VECHNSW_METAPAGE_BLKNO, ExclusiveLock);
	buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (VecPageGetMeta(BufferGetPage(buf))->entry_level < 0)
	{
		state = GenericXLogStart(index);
		meta = VecPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
		vec_meta_set_entry(meta, &etid, st->live[best].level, st->live[best].version);
		GenericXLogFinish(state);
		st->entry_moved = true;
	}
	UnlockReleaseBuffer(buf);
	UnlockPage(index, VECHNSW_METAPAGE_BLKNO, ExclusiveLock);
	vec_read_meta(index, st->meta);
}

/*
 * Step 5: reachability.  Deleting many elements can leave live ones whose
 * every in-edge came from deleted elements: the repair gave their
 * neighbours better candidates, and nothing leads to them any more (and
 * the heuristic can leave an insert's new element without any in-edge, most
 * often with a small m).  A breadth-first walk from the entry point over
 * the live elements the repair pass saw (every level's lists, one neighbour
 * tuple read per element) finds them; each gets what an insert gets on
 * level 0 (a search from the entry point, back-links from the neighbours it
 * finds, its own list from what it found) and, if the heuristic took it in
 * nowhere, an edge from its nearest neighbour in place of that list's
 * farthest.  Such a forced edge can cut another element's only path, so
 * the walk is repeated (at most VEC_REACH_PASSES times) until it finds
 * nothing unreachable.  O(elements) page reads per walk, plus one search
 * per element found unreachable.
 */
#define VEC_REACH_PASSES	4

static int64
vec_vacuum_reach_pass(VecVacState *st, bool *seen, int32 *queue, float *vec, float *scratch,
					  VecCand *cc)
{
	VecGraph   *g = &st->dg.g;
	int			m = st->m;
	int64		head = 0,
				tail = 0,
				found = 0;
	ItemPointerData etid;
	int64		ei;

	memset(seen, 0, st->nlive);
	memset(st->indeg, 0, sizeof(int32) * st->nlive);
	ItemPointerSet(&etid, st->meta->entry_blkno, st->meta->entry_offno);
	ei = vec_live_find(st, vec_tid_to_id(&etid));
	if (ei >= 0 && st->live[ei].version == st->meta->entry_version)
	{
		seen[ei] = true;
		queue[tail++] = (int32) ei;
	}
	else
	{
		/* an entry point newer than the repair pass: start from its lists */
		VecCand		ep;

		memset(vec, 0, sizeof(float) * st->dim);
		if (vec_disk_entry(&st->dg, st->meta, vec, &ep))
			vec_vacuum_visit_lists(st, &ep, seen, queue, &tail);
	}
	while (head < tail)
	{
		if ((head & 255) == 0)
			vacuum_delay_point();
		vec_vacuum_visit_lists(st, &st->live[queue[head++]], seen, queue, &tail);
	}

	for (int64 i = 0; i < st->nlive; i++)
	{
		VecCand    *e = &st->live[i];
		int			k;
		VecListEdit edit;

		if (seen[i])
			continue;
		CHECK_FOR_INTERRUPTS();
		if (g->ops->vector(g, e->id, e->version, vec) == NULL)
			continue;			/* not live any more */
		found++;
		k = vec_vacuum_search(st, e, 0, vec, cc, 0, Max(st->vinfo->ef_construction, 2 * m),
							  scratch, true, true);
		if (k == 0)
			continue;
		/* and its own list gets the nearest of what was found */
		memset(&edit, 0, offsetof(VecListEdit, added));
		edit.add = cc;
		edit.nadd = Min(k, 2 * m);
		edit.scratch = scratch;
		(void) g->ops->update_list(g, e, 0, &edit);
		st->unreachable_fixed++;
	}
	return found;
}

static void
vec_vacuum_reachability(VecVacState *st)
{
	int			m = st->m;
	bool	   *seen;
	int32	   *queue;
	float	   *vec = palloc(sizeof(float) * st->dim);
	float	   *scratch = palloc(sizeof(float) * st->dim * (2 * m + 1));
	VecCand    *cc = palloc(sizeof(VecCand) * Max(st->vinfo->ef_construction, 2 * m));

	if (st->nlive == 0)
		return;
	vec_read_meta(st->index, st->meta);
	if (st->meta->entry_level < 0)
		vec_vacuum_adopt_entry(st);
	if (st->meta->entry_level < 0)
		return;

	seen = palloc_extended(st->nlive, MCXT_ALLOC_HUGE);
	queue = palloc_extended(sizeof(int32) * st->nlive, MCXT_ALLOC_HUGE);
	st->indeg = palloc_extended(sizeof(int32) * st->nlive, MCXT_ALLOC_HUGE);
	for (int pass = 0; pass < VEC_REACH_PASSES; pass++)
	{
		int64		found = vec_vacuum_reach_pass(st, seen, queue, vec, scratch, cc);

		st->reach_walks = pass + 1;
		if (pass == 0)
			st->unreachable_found = found;
		if (found == 0)
			break;
	}
	vec_disk_graph_done(&st->dg);
	pfree(seen);
	pfree(queue);
	pfree(st->indeg);
	st->indeg = NULL;
}

IndexBulkDeleteResult *
vechnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	VecVacState st;
	VecMetaPageData meta;
	PGRUsage	ru0;
	Size		budget;
	int			rounds = 0;
	int64		tids_before;
	int			elevel = vec_vacuum_elevel(info);

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	tids_before = (int64) stats->tuples_removed;
	/* counted afresh by each pass (VACUUM may call us more than once) */
	stats->num_index_tuples = 0;
	stats->pages_free = 0;
	pg_rusage_init(&ru0);

	memset(&st, 0, sizeof(st));
	st.index = index;
	st.info = info;
	st.vinfo = vec_index_info(index);
	vec_read_meta(index, &meta);
	st.m = meta.m;
	st.dim = meta.dimensions;
	st.max_level = meta.max_level;	/* (vec_read_meta checked it) */
	if (st.m < VECHNSW_MIN_M || st.m > VECHNSW_MAX_M || st.dim > VECHNSW_MAX_DIM * 2)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted meta page (m %u, dimensions %u)",
						RelationGetRelationName(index), meta.m, meta.dimensions)));
	vec_disk_graph_init(&st.dg, index, st.vinfo, st.dim);
	st.dg.g.metric = vec_link_metric(st.vinfo->metric);
	st.dg.g.m = st.m;
	st.dg.g.storage = meta.storage;
	st.dg.code_bytes = meta.code_bytes;
	st.best_level = -1;
	st.elevel = elevel;
	st.last_report = GetCurrentTimestamp();
	st.caplive = 1024;
	st.live = palloc(sizeof(VecCand) * st.caplive);
	st.capdead = 1024;
	st.dead = palloc(sizeof(VecDeadElem) * st.capdead);
	vec_idset_init(&st.alldead, 1024);

	/* 1. heap TIDs */
	vec_vacuum_tids(&st, stats, callback, callback_state);
	if (st.ndead > 0)
		ereport(elevel,
				(errmsg("index \"%s\": removed %lld heap TIDs, %d elements have no rows left (%lld new)",
						RelationGetRelationName(index),
						(long long) (stats->tuples_removed - tids_before), st.ndead,
						(long long) st.newly_deleted),
				 errdetail_internal("%s", pg_rusage_show(&ru0))));

	if (st.ndead > 0 && st.dim > 0)
	{
		/* 2. barrier and entry point */
		vec_vacuum_barrier(&st);
		st.meta = palloc(sizeof(VecMetaPageData));
		vec_read_meta(index, st.meta);

		/* 3 and 4, in rounds that fit maintenance_work_mem */
		budget = (Size) maintenance_work_mem * 1024 / 2;
		st.rfirst = 0;
		while (st.rfirst < st.ndead)
		{
			st.rend = vec_vacuum_load_round(&st, st.rfirst, budget);
			vec_vacuum_repair(&st);
			vec_vacuum_free(&st);
			pfree(st.lists);
			pfree(st.rounddead.keys);
			pfree(st.roundntids.keys);
			rounds++;
			ereport(elevel,
					(errmsg("index \"%s\": repaired %lld neighbour lists (%lld edges to deleted elements replaced), freed %lld element slots",
							RelationGetRelationName(index), (long long) st.lists_repaired,
							(long long) st.edges_replaced, (long long) st.freed),
					 errdetail_internal("Round %d: elements %d to %d of %d. %s", rounds,
										st.rfirst + 1, st.rend, st.ndead, pg_rusage_show(&ru0))));
			st.rfirst = st.rend;
		}
		FreeSpaceMapVacuum(index);

		/* 5. live elements left unreachable get linked again */
		if (!st.live_overflow)
			vec_vacuum_reachability(&st);
	}
	if (st.list_retries > 0 && elevel != DEBUG1)
		elog(DEBUG1, "vechnsw VACUUM of \"%s\": %lld neighbour list updates started over after concurrent changes",
			 RelationGetRelationName(index), (long long) st.list_retries);

	ereport(elevel,
			(errmsg("index \"%s\": %lld heap TIDs removed, %lld elements deleted, %lld lists repaired, %lld edges replaced, %lld back-links added, %lld slots freed, %lld pages with freed slots%s",
					RelationGetRelationName(index),
					(long long) (stats->tuples_removed - tids_before),
					(long long) st.newly_deleted, (long long) st.lists_repaired,
					(long long) st.edges_replaced, (long long) st.backlinks, (long long) st.freed,
					(long long) st.pages_with_room,
					st.entry_moved ? ", entry point moved" : ""),
			 errdetail_internal("%lld lists had too few neighbours left and were searched for; %lld live elements were unreachable from the entry point (%lld links made, %lld of them forced past the heuristic, in %d walks)%s; %lld optimistic list updates retried. %s",
								(long long) st.lists_searched, (long long) st.unreachable_found,
								(long long) st.unreachable_fixed, (long long) st.links_forced,
								st.reach_walks,
								st.live_overflow ? " (not checked: too many elements for maintenance_work_mem)" : "",
								(long long) st.list_retries, pg_rusage_show(&ru0))));

	stats->num_pages = RelationGetNumberOfBlocks(index);
	/* shown by VACUUM VERBOSE as "reusable": pages with slots freed now */
	stats->pages_free = (BlockNumber) st.pages_with_room;
	return stats;
}

IndexBulkDeleteResult *
vechnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;

	/*
	 * No ambulkdelete this time: count what is there, and tell the free
	 * space map about free slots (the map is not WAL-logged, so after a
	 * crash or on a promoted standby it starts empty).
	 */
	if (stats == NULL)
	{
		VecPageWalk walk;
		Buffer		buf;
		Page		page;
		bool		any = false;

		stats = palloc0(sizeof(IndexBulkDeleteResult));
		vec_walk_init(&walk, index, info->strategy);
		while ((page = vec_walk_next(&walk, BUFFER_LOCK_SHARE, &buf)) != NULL)
		{
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
			bool		freeslot = false;
			Size		avail = 0;

			for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
			{
				VecElementTuple et = vec_page_item(page, off);

				if (et == NULL || et->type != VEC_TUPLE_ELEMENT)
					continue;
				if (et->state == VEC_ELEM_LIVE && et->ntids <= VECHNSW_HEAPTIDS)
					stats->num_index_tuples += et->ntids;
				else if (et->state == VEC_ELEM_FREE)
					freeslot = true;
			}
			if (freeslot)
				avail = PageGetExactFreeSpace(page);
			UnlockReleaseBuffer(buf);
			if (avail > 0)
			{
				vec_record_free_space(index, walk.blkno, avail);
				any = true;
			}
		}
		if (any)
			FreeSpaceMapVacuum(index);
	}

	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}
