/*-------------------------------------------------------------------------
 *
 * hnswcheck.c
 *	  vechnsw_index_check() and vechnsw_index_stats(): read every page of a
 *	  vechnsw index, check its structure, and count what is in it.
 *
 * In the spirit of amcheck's bt_index_check(): nothing read from a page is
 * trusted before it has been checked, every problem is an ERROR with
 * ERRCODE_INDEX_CORRUPTED naming the block and offset, and every loop can
 * be cancelled.  The checker locks the index in ShareLock while it reads,
 * so inserts and VACUUM wait and the pages read one after the other form a
 * consistent whole (scans go on); the table is locked in AccessShareLock.
 * The statistics lock only in AccessShareLock and skip what changed
 * between two pages' reads.
 *
 * Three passes: (1) every page and tuple is well formed, and the elements
 * are collected in (block, offset) order; (2) every neighbour tuple belongs
 * to its element and every edge names an existing element of a level that
 * fits, with no self-links or duplicates, and no edge of a live list names
 * a free element; edges are kept in memory (4 bytes each); (3) the elements
 * reachable from the entry point are counted.  With heapallindexed, every
 * row visible to a fresh MVCC snapshot must be in the index.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "vecidx.h"

typedef struct VecChkElem
{
	uint64		id;
	ItemPointerData ntid;
	uint16		version;
	uint8		state;
	uint8		level;
	uint8		ntids;
	int64		firstedge;		/* into VecChk.edges, -1 = none */
	int32		nedges;
} VecChkElem;

typedef struct VecChk
{
	Relation	index;
	Relation	heap;
	BlockNumber nblocks;
	BufferAccessStrategy strategy;
	MemoryContext cxt;

	VecChkElem *elems;			/* in id order */
	int64		nelems;
	int64		capelems;
	int32	   *edges;			/* indexes into elems */
	int64		nedges;
	int64		capedges;

	/*
	 * strict: the index is locked against writers (the checker), so any
	 * disagreement between pages is corruption.  Otherwise (the statistics,
	 * under AccessShareLock) pages are read at different moments and such
	 * disagreements are skipped; a malformed page is corruption either way.
	 */
	bool		strict;

	/* heapallindexed: the heap TIDs of live elements */
	bool		collect_tids;
	VecIdSet	tids;

	/* counts */
	int64		new_pages;
	int64		live,
				deleted,
				free,
				heaptids,
				orphans,
				edges_to_deleted,
				stale_edges,
				unreachable,
				heap_rows_checked;
	int			maxlevel;
	VecMetaPageData meta;		/* last: the centroid is not copied */
} VecChk;

static void
vec_chk_corrupt(VecChk *c, BlockNumber blk, OffsetNumber off, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted at block %u, offset %u: %s",
					RelationGetRelationName(c->index), blk, off, what)));
}

static int64
vec_chk_find(VecChk *c, uint64 id)
{
	return vec_bsearch_id(c->elems, c->nelems, sizeof(VecChkElem), offsetof(VecChkElem, id), id);
}

static inline uint64
vec_chk_tidkey(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumber(tid) << 16) | ItemPointerGetOffsetNumber(tid);
}

/* read a page into buf (a private copy); false if it is all zeroes */
static bool
vec_chk_read(VecChk *c, BlockNumber blkno, char *copy)
{
	Buffer		buf;
	Page		page;
	PageHeader	ph;

	CHECK_FOR_INTERRUPTS();
	buf = ReadBufferExtended(c->index, MAIN_FORKNUM, blkno, RBM_NORMAL, c->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(copy, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);

	page = (Page) copy;
	if (PageIsNew(page))
		return false;
	ph = (PageHeader) page;
	if (ph->pd_special != BLCKSZ - MAXALIGN(sizeof(VecPageOpaqueData)))
		vec_chk_corrupt(c, blkno, 0, "bad special space size");
	if (VecPageGetOpaque(page)->page_id != VECHNSW_PAGE_ID)
		vec_chk_corrupt(c, blkno, 0, "bad page id");
	if (VecPageGetOpaque(page)->flags != VEC_PAGE_ELEMENT)
		vec_chk_corrupt(c, blkno, 0, "not an element page");
	if (ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper > ph->pd_special)
		vec_chk_corrupt(c, blkno, 0, "bad free space bounds");
	return true;
}

/* the tuple at off of a checked page copy, its bounds checked */
static char *
vec_chk_item(VecChk *c, Page page, BlockNumber blkno, OffsetNumber off, Size *len)
{
	ItemId		iid = PageGetItemId(page, off);
	PageHeader	ph = (PageHeader) page;

	if (!ItemIdIsUsed(iid))
		return NULL;
	if (!ItemIdIsNormal(iid))
		vec_chk_corrupt(c, blkno, off, "line pointer is dead or a redirect");
	if (ItemIdGetOffset(iid) < ph->pd_upper || ItemIdGetOffset(iid) != MAXALIGN(ItemIdGetOffset(iid)) ||
		ItemIdGetOffset(iid) + ItemIdGetLength(iid) > ph->pd_special || ItemIdGetLength(iid) < 8)
		vec_chk_corrupt(c, blkno, off, "line pointer out of bounds");
	*len = ItemIdGetLength(iid);
	return (char *) PageGetItem(page, iid);
}

static void
vec_chk_meta(VecChk *c)
{
	VecMetaPageData *meta = &c->meta;

	/* magic, version and every field's bounds: vec_check_meta */
	vec_read_meta(c->index, meta);
	/* and what only holds for a consistent index */
	if (meta->max_level != vec_max_level(meta->m, meta->code_bytes))
		vec_chk_corrupt(c, 0, 0, "meta page: max_level does not fit m");
	if (meta->entry_level >= 0 && meta->dimensions == 0)
		vec_chk_corrupt(c, 0, 0, "meta page: entry point but no dimensions");
}

static void
vec_chk_meta_blocks(VecChk *c)
{
	VecMetaPageData *meta = &c->meta;

	if (meta->entry_level >= 0 &&
		(meta->entry_blkno == VECHNSW_METAPAGE_BLKNO || meta->entry_blkno >= c->nblocks))
		vec_chk_corrupt(c, 0, 0, "meta page: entry point names no element page");
}

/* pass 1: pages and tuples; collect the elements */
static void
vec_chk_pass1(VecChk *c)
{
	PGAlignedBlock pb;
	Page		page = (Page) pb.data;
	int			m = c->meta.m;
	int			dim = c->meta.dimensions;
	int			storage = c->meta.storage;

	for (BlockNumber blkno = VECHNSW_METAPAGE_BLKNO + 1; blkno < c->nblocks; blkno++)
	{
		OffsetNumber maxoff;

		if (!vec_chk_read(c, blkno, pb.data))
		{
			c->new_pages++;
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			Size		len;
			char	   *item = vec_chk_item(c, page, blkno, off, &len);
			ItemPointerData tid;

			if (item == NULL)
				continue;
			ItemPointerSet(&tid, blkno, off);
			if (item[0] == VEC_TUPLE_ELEMENT)
			{
				VecElementTuple et = (VecElementTuple) item;
				VecChkElem *e;

				if (len < VEC_ELEMENT_TOMBSTONE_SIZE)
					vec_chk_corrupt(c, blkno, off, "element tuple too short");
				if (et->state > VEC_ELEM_FREE)
					vec_chk_corrupt(c, blkno, off, "unknown element state");
				if (et->state == VEC_ELEM_FREE)
				{
					if (et->ntids != 0)
						vec_chk_corrupt(c, blkno, off, "free element has heap TIDs");
					if (len != VEC_ELEMENT_TOMBSTONE_SIZE)
						vec_chk_corrupt(c, blkno, off, "free element still holds a vector");
				}
				else
				{
					/* (lenient: the first vector may have arrived after the meta page was read) */
					bool		dimknown = dim != 0 || c->strict;

					if (dimknown && (dim == 0 || et->dim != dim))
						vec_chk_corrupt(c, blkno, off, "element dimensions differ from the meta page's");
					if (dimknown && (et->codebytes != c->meta.code_bytes ||
									 len != VEC_ELEMENT_TUPLE_SIZE(dim, storage, et->codebytes)))
						vec_chk_corrupt(c, blkno, off, "element tuple has the wrong size");
					if (et->level > c->meta.max_level)
						vec_chk_corrupt(c, blkno, off, "element level above the maximum");
					if (et->ntids > VECHNSW_HEAPTIDS ||
						(et->state == VEC_ELEM_LIVE && et->ntids == 0) ||
						(et->state == VEC_ELEM_DELETED && et->ntids != 0))
						vec_chk_corrupt(c, blkno, off, "element heap TID count does not fit its state");
					for (int i = 0; i < et->ntids; i++)
						if (!ItemPointerIsValid(&et->heaptids[i]) ||
							!BlockNumberIsValid(ItemPointerGetBlockNumberNoCheck(&et->heaptids[i])))
							vec_chk_corrupt(c, blkno, off, "element has an invalid heap TID");
					if (!ItemPointerIsValid(&et->neighbortid) ||
						ItemPointerGetBlockNumber(&et->neighbortid) == VECHNSW_METAPAGE_BLKNO ||
						ItemPointerGetBlockNumber(&et->neighbortid) >= c->nblocks)
						vec_chk_corrupt(c, blkno, off, "element names no neighbour tuple");
				}

				if (c->nelems == c->capelems)
				{
					c->capelems *= 2;
					c->elems = repalloc_huge(c->elems, sizeof(VecChkElem) * c->capelems);
				}
				e = &c->elems[c->nelems++];
				e->id = vec_tid_to_id(&tid);
				e->ntid = et->neighbortid;
				e->version = et->version;
				e->state = et->state;
				e->level = et->level;
				e->ntids = et->ntids;
				e->firstedge = -1;
				e->nedges = 0;
				if (et->state == VEC_ELEM_LIVE)
				{
					c->live++;
					c->heaptids += et->ntids;
					if (c->collect_tids)
						for (int i = 0; i < et->ntids; i++)
							vec_idset_add(&c->tids, vec_chk_tidkey(&et->heaptids[i]));
				}
				else if (et->state == VEC_ELEM_DELETED)
					c->deleted++;
				else
					c->free++;
				if (et->state != VEC_ELEM_FREE)
					c->maxlevel = Max(c->maxlevel, et->level);
			}
			else if (item[0] == VEC_TUPLE_NEIGHBOR)
			{
				VecNeighborTuple nt = (VecNeighborTuple) item;

				if (nt->m == 0)
				{
					if (len != VEC_NEIGHBOR_TOMBSTONE_SIZE)
						vec_chk_corrupt(c, blkno, off, "empty neighbour tuple has the wrong size");
					continue;
				}
				if (nt->m != m)
					vec_chk_corrupt(c, blkno, off, "neighbour tuple m differs from the meta page's");
				if (nt->level > c->meta.max_level)
					vec_chk_corrupt(c, blkno, off, "neighbour tuple level above the maximum");
				if (nt->codesize != c->meta.code_bytes ||
					len != VEC_NEIGHBOR_TUPLE_SIZE(nt->level, m, nt->codesize))
					vec_chk_corrupt(c, blkno, off, "neighbour tuple has the wrong size");
			}
			else
				vec_chk_corrupt(c, blkno, off, "unknown tuple type");
		}
	}
}

static int
vec_chk_u64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

/*
 * Every neighbour tuple belongs to one element: two elements naming the same
 * one would share lists, and VACUUM, freeing one of them, would turn the
 * other's lists into a tombstone.  Version and level do not tell them apart
 * (after a build every version is 0), so the pointers are compared: sorted,
 * O(n log n), 8 bytes per element.  Only with writers locked out (strict):
 * otherwise pass 1 may have read a freed slot and its reuse at different
 * times.
 */
static void
vec_chk_shared_ntuples(VecChk *c)
{
	uint64	   *keys;
	int64		n = 0;

	if (!c->strict || c->nelems < 2)
		return;
	keys = palloc_extended(sizeof(uint64) * c->nelems, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < c->nelems; i++)
		if (c->elems[i].state != VEC_ELEM_FREE)
			keys[n++] = vec_chk_tidkey(&c->elems[i].ntid);
	qsort(keys, n, sizeof(uint64), vec_chk_u64_cmp);
	for (int64 i = 1; i < n; i++)
	{
		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		if (keys[i] == keys[i - 1])
			vec_chk_corrupt(c, (BlockNumber) (keys[i] >> 16), (OffsetNumber) (keys[i] & 0xFFFF),
							"two elements name this neighbour tuple");
	}
	pfree(keys);
}

/* pass 2: every element's neighbour tuple and edges */
static void
vec_chk_pass2(VecChk *c)
{
	PGAlignedBlock pb;
	Page		page = (Page) pb.data;
	BlockNumber cur = InvalidBlockNumber;
	int			m = c->meta.m;
	VecIdSet	dup;

	vec_idset_init(&dup, 2 * m);
	for (int64 i = 0; i < c->nelems; i++)
	{
		VecChkElem *e = &c->elems[i];
		BlockNumber eblk = (BlockNumber) (e->id >> 16);
		OffsetNumber eoff = (OffsetNumber) (e->id & 0xFFFF);
		BlockNumber nblk;
		Size		len;
		VecNeighborTuple nt;

		if (e->state == VEC_ELEM_FREE)
			continue;
		nblk = ItemPointerGetBlockNumber(&e->ntid);
		if (nblk != cur)
		{
			if (!vec_chk_read(c, nblk, pb.data))
			{
				if (c->strict)
					vec_chk_corrupt(c, eblk, eoff, "neighbour tuple is on an empty page");
				cur = InvalidBlockNumber;
				continue;
			}
			cur = nblk;
		}
		if (ItemPointerGetOffsetNumber(&e->ntid) < FirstOffsetNumber ||
			ItemPointerGetOffsetNumber(&e->ntid) > PageGetMaxOffsetNumber(page))
		{
			if (c->strict)
				vec_chk_corrupt(c, eblk, eoff, "neighbour tuple offset out of range");
			continue;
		}
		nt = (VecNeighborTuple) vec_chk_item(c, page, nblk, ItemPointerGetOffsetNumber(&e->ntid), &len);
		if (!vec_neighbor_matches(nt, len, e->version, e->level, m))
		{
			if (!c->strict)
				continue;		/* changed since pass 1 read the element */
			if (nt == NULL || nt->type != VEC_TUPLE_NEIGHBOR || nt->m != m)
				vec_chk_corrupt(c, eblk, eoff, "element's neighbour tuple is missing");
			if (nt->version != e->version || nt->level != e->level)
				vec_chk_corrupt(c, eblk, eoff, "neighbour tuple version or level differs from its element's");
			vec_chk_corrupt(c, eblk, eoff, "neighbour tuple is shorter than its level and codes need");
		}

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		e->firstedge = c->nedges;
		for (int lc = 0; lc <= nt->level; lc++)
		{
			int			start = VEC_LEVEL_START(lc, m);

			memset(dup.keys, 0, sizeof(uint64) * (dup.mask + 1));
			dup.count = 0;
			for (int s = 0; s < VEC_LEVEL_CAP(lc, m); s++)
			{
				VecNeighborEntry *ne = &nt->entries[start + s];
				uint64		tid;
				int64		ti;
				VecChkElem *t;

				if (!ItemPointerIsValid(&ne->tid))
					continue;
				tid = vec_tid_to_id(&ne->tid);
				if (tid == e->id)
					vec_chk_corrupt(c, eblk, eoff, "element links to itself");
				if (!vec_idset_add(&dup, tid))
					vec_chk_corrupt(c, eblk, eoff, "duplicate edge in a neighbour list");
				ti = vec_chk_find(c, tid);
				if (ti < 0 && !c->strict)
					continue;	/* an element added since pass 1 */
				if (ti < 0)
				{
					char		msg[128];

					snprintf(msg, sizeof(msg), "edge on level %d to (%u,%u), which is no element",
							 lc, ItemPointerGetBlockNumberNoCheck(&ne->tid),
							 ItemPointerGetOffsetNumberNoCheck(&ne->tid));
					vec_chk_corrupt(c, eblk, eoff, msg);
				}
				t = &c->elems[ti];
				if (t->version != ne->version)
				{
					/* the target was freed (and maybe reused) since: ignored by searches */
					c->stale_edges++;
					continue;
				}
				if (t->state == VEC_ELEM_FREE && c->strict)
					vec_chk_corrupt(c, eblk, eoff, "edge to a free element with its current version");
				if (t->level < lc && c->strict)
					vec_chk_corrupt(c, eblk, eoff, "edge to an element below the list's level");
				if (e->state == VEC_ELEM_LIVE && t->state == VEC_ELEM_DELETED)
					c->edges_to_deleted++;

				if (c->nedges == c->capedges)
				{
					c->capedges *= 2;
					c->edges = repalloc_huge(c->edges, sizeof(int32) * c->capedges);
				}
				c->edges[c->nedges++] = (int32) ti;
				e->nedges++;
			}
		}
	}
	pfree(dup.keys);
}

/* pass 3: entry point, and what is reachable from it */
static void
vec_chk_pass3(VecChk *c)
{
	VecMetaPageData *meta = &c->meta;
	ItemPointerData etid;
	int64		ei;
	bool	   *seen;
	int32	   *queue;
	int64		head = 0,
				tail = 0;

	/*
	 * (No entry point with live elements is a state a crash can leave: the
	 * first insert's tuples are written before the meta page names them.
	 * Its row never committed; the element counts as unreachable.)
	 */
	if (meta->entry_level < 0)
	{
		c->unreachable = c->live;
		return;
	}
	ItemPointerSet(&etid, meta->entry_blkno, meta->entry_offno);
	ei = vec_chk_find(c, vec_tid_to_id(&etid));
	if (!c->strict && (ei < 0 || c->elems[ei].version != meta->entry_version))
		return;					/* the entry point moved since the meta page was read */
	if (ei < 0)
		vec_chk_corrupt(c, 0, 0, "entry point names no element");
	if (c->elems[ei].version != meta->entry_version)
		vec_chk_corrupt(c, 0, 0, "entry point version differs from its element's");
	/* (a deleted entry point is what a VACUUM cancelled before its step 2 leaves) */
	if (c->elems[ei].state == VEC_ELEM_FREE && c->strict)
		vec_chk_corrupt(c, 0, 0, "entry point is a free element");
	if (c->elems[ei].level != meta->entry_level && c->strict)
		vec_chk_corrupt(c, 0, 0, "entry level differs from the entry element's level");

	seen = palloc_extended(sizeof(bool) * Max(c->nelems, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	queue = palloc_extended(sizeof(int32) * Max(c->nelems, 1), MCXT_ALLOC_HUGE);
	seen[ei] = true;
	queue[tail++] = (int32) ei;
	while (head < tail)
	{
		VecChkElem *e = &c->elems[queue[head++]];

		if ((head & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int32 k = 0; k < e->nedges; k++)
		{
			int32		t = c->edges[e->firstedge + k];

			if (!seen[t])
			{
				seen[t] = true;
				queue[tail++] = t;
			}
		}
	}
	for (int64 i = 0; i < c->nelems; i++)
		if (!seen[i] && c->elems[i].state == VEC_ELEM_LIVE)
			c->unreachable++;
	pfree(seen);
	pfree(queue);
}

/* heapallindexed: every row visible now is in the index */
static void
vec_chk_heap_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
					  bool tupleIsAlive, void *state)
{
	VecChk	   *c = (VecChk *) state;
	MemoryContext old;
	float	   *vec;
	int			dim;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(c->cxt);
	vec = vec_datum_to_vector(values[0], vec_index_info(index)->metric, &dim);
	MemoryContextSwitchTo(old);
	MemoryContextReset(c->cxt);
	if (vec == NULL)
		return;					/* zero vector under cosine: not indexed */
	c->heap_rows_checked++;
	if (!vec_idset_contains(&c->tids, vec_chk_tidkey(tid)))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("heap tuple (%u,%u) from table \"%s\" lacks matching index tuple within index \"%s\"",
						ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
						RelationGetRelationName(c->heap), RelationGetRelationName(index))));
}

static void
vec_chk_heapallindexed(VecChk *c)
{
	IndexInfo  *ii = BuildIndexInfo(c->index);
	Snapshot	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	TableScanDesc scan;

	/* as amcheck: an MVCC scan, root TIDs of HOT chains */
	scan = table_beginscan_strat(c->heap, snapshot, 0, NULL, true, true);
	ii->ii_Concurrent = true;
	ii->ii_Unique = false;
	ii->ii_ExclusionOps = NULL;
	ii->ii_ExclusionProcs = NULL;
	ii->ii_ExclusionStrats = NULL;
	table_index_build_scan(c->heap, c->index, ii, true, false, vec_chk_heap_callback, c, scan);
	UnregisterSnapshot(snapshot);
}

/* open, lock and check everything; the caller reads the counts */
static void
vec_chk_run(VecChk *c, Oid indexoid, bool heapallindexed, LOCKMODE indexlock)
{
	Oid			heapoid;

	memset(c, 0, sizeof(*c));
	/* lock the table first, as amcheck does, to avoid deadlocks */
	heapoid = IndexGetRelation(indexoid, true);
	if (OidIsValid(heapoid))
		c->heap = table_open(heapoid, AccessShareLock);
	c->index = try_relation_open(indexoid, indexlock);
	if (c->index == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index with OID %u does not exist", indexoid)));
	if (c->index->rd_rel->relkind != RELKIND_INDEX ||
		c->index->rd_rel->relam != get_index_am_oid("vechnsw", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a vechnsw index", RelationGetRelationName(c->index))));
	if (!c->index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot check index \"%s\"", RelationGetRelationName(c->index)),
				 errdetail("Index is not valid.")));

	c->strategy = GetAccessStrategy(BAS_BULKREAD);
	c->cxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw check row",
								   ALLOCSET_DEFAULT_SIZES);

	c->capelems = 1024;
	c->elems = palloc(sizeof(VecChkElem) * c->capelems);
	c->capedges = 4096;
	c->edges = palloc(sizeof(int32) * c->capedges);
	c->maxlevel = -1;
	c->collect_tids = heapallindexed;
	c->strict = (indexlock == ShareLock);
	if (heapallindexed)
		vec_idset_init(&c->tids, 1024);

	/* the meta page first: a page it names was added before it was read */
	vec_chk_meta(c);
	c->nblocks = RelationGetNumberOfBlocks(c->index);
	vec_chk_meta_blocks(c);
	vec_chk_pass1(c);
	vec_chk_shared_ntuples(c);
	vec_chk_pass2(c);
	vec_chk_pass3(c);
	if (heapallindexed && c->heap)
		vec_chk_heapallindexed(c);
}

static void
vec_chk_close(VecChk *c, LOCKMODE indexlock)
{
	relation_close(c->index, indexlock);
	if (c->heap)
		table_close(c->heap, AccessShareLock);
}

/*
 * ShareLock keeps writers out while the pages are read.  A hot standby
 * cannot take it; there the index is read under AccessShareLock, and a
 * check that runs while WAL is being replayed can see pages from different
 * moments (check a standby when it has caught up and the primary is idle).
 */
static LOCKMODE
vec_chk_lockmode(void)
{
	return RecoveryInProgress() ? AccessShareLock : ShareLock;
}

/*
 * vechnsw_index_check(index regclass, heapallindexed boolean): raises
 * ERRCODE_INDEX_CORRUPTED at the first problem, else returns nothing.
 */
PG_FUNCTION_INFO_V1(vechnsw_index_check);
Datum
vechnsw_index_check(PG_FUNCTION_ARGS)
{
	VecChk		c;
	LOCKMODE	lockmode = vec_chk_lockmode();

	vec_chk_run(&c, PG_GETARG_OID(0), PG_GETARG_BOOL(1), lockmode);
	vec_chk_close(&c, lockmode);
	PG_RETURN_VOID();
}

/*
 * vechnsw_index_stats(regclass): what the index holds, read with the same
 * page and tuple checks (a malformed page raises XX002 here too), under
 * AccessShareLock: it never waits for writers nor makes them wait, so
 * while they run the counts are of pages read at different moments.
 */
PG_FUNCTION_INFO_V1(vechnsw_index_stats);
Datum
vechnsw_index_stats(PG_FUNCTION_ARGS)
{
	VecChk		c;
	TupleDesc	tupdesc;
	Datum		values[13];
	bool		nulls[13] = {0};
	LOCKMODE	lockmode = AccessShareLock;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	vec_chk_run(&c, PG_GETARG_OID(0), false, lockmode);
	values[0] = Int64GetDatum((int64) c.nblocks);
	values[1] = Int64GetDatum(c.nelems);
	values[2] = Int64GetDatum(c.live);
	values[3] = Int64GetDatum(c.deleted);
	values[4] = Int64GetDatum(c.heaptids);
	values[5] = Int32GetDatum(c.maxlevel);
	values[6] = Int32GetDatum((int32) c.meta.dimensions);
	values[7] = Int32GetDatum((int32) c.meta.m);
	values[8] = Int32GetDatum((int32) c.meta.ef_construction);
	values[9] = Int64GetDatum(c.free);
	values[10] = Int64GetDatum(c.edges_to_deleted);
	values[11] = Int64GetDatum(c.stale_edges);
	values[12] = Int64GetDatum(c.unreachable);
	vec_chk_close(&c, lockmode);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
