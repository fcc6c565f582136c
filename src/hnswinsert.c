/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Insert one vector into the on-disk graph (aminsert, and the build
 *	  once maintenance_work_mem is used up).
 *
 * Locking (see docs/LOCKING.md): an inserter holds the heavyweight page
 * lock on the meta page's block number in ShareLock, or in ExclusiveLock
 * when it may change the entry point (empty graph, or its level is above
 * the entry point's).  Buffer content locks are taken one at a time; the
 * only nesting is relation extension lock -> new buffer.  Neighbour lists
 * are updated optimistically: read under a share lock, compute the new
 * list without any lock, then under the exclusive lock check that the list
 * did not change meanwhile (else retry).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

static void vec_insert_on_disk_locked(Relation index, VecIndexInfo *info, float *vec, int dim,
									  ItemPointer heaptid, pg_prng_state *prng, int level,
									  LOCKMODE lockmode);

/*
 * Get a page with at least 'need' bytes free (for tuples and their line
 * pointers), exclusively locked.  *isnew tells whether it was just added.
 */
static Buffer
vec_page_with_room(Relation index, BlockNumber hint, Size need, bool *isnew)
{
	Buffer		buf;

	if (BlockNumberIsValid(hint) && hint != VECHNSW_METAPAGE_BLKNO &&
		hint < RelationGetNumberOfBlocks(index))
	{
		Page		page;

		buf = ReadBuffer(index, hint);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
			vec_check_page(index, page, hint);
		if (!PageIsNew(page) && (VecPageGetOpaque(page)->flags & VEC_PAGE_ELEMENT) &&
			PageGetExactFreeSpace(page) >= need)
		{
			*isnew = false;
			return buf;
		}
		UnlockReleaseBuffer(buf);
	}
	*isnew = true;
	return vec_new_buffer(index, MAIN_FORKNUM);
}

/* remember a newly added page as the insert page in the meta page */
static void
vec_set_insert_page(Relation index, BlockNumber blkno)
{
	Buffer		buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
	GenericXLogState *state;
	VecMetaPage meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = VecPageGetMeta(BufferGetPage(buf));
	if (!BlockNumberIsValid(meta->insert_page) || meta->insert_page < blkno)
	{
		state = GenericXLogStart(index);
		meta = VecPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
		meta->insert_page = blkno;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/*
 * Write tuple a, and optionally tuple b, to one page in one WAL record.
 * When b is given it is an element tuple and a its neighbour tuple:
 * b->neighbortid is set to a's location before b is added.
 */
static void
vec_place(Relation index, BlockNumber *hint, Item a, Size asz, Item b, Size bsz,
		  ItemPointer atid, ItemPointer btid)
{
	Size		need = MAXALIGN(asz) + sizeof(ItemIdData);
	bool		isnew;
	Buffer		buf;
	Page		page;
	GenericXLogState *state;
	OffsetNumber aoff,
				boff = InvalidOffsetNumber;

	if (b)
		need += MAXALIGN(bsz) + sizeof(ItemIdData);

	buf = vec_page_with_room(index, *hint, need, &isnew);
	if (!isnew && (PageGetExactFreeSpace(BufferGetPage(buf)) < need ||
				   (b && PageGetMaxOffsetNumber(BufferGetPage(buf)) + 2 > MaxOffsetNumber)))
		elog(ERROR, "vechnsw index \"%s\": page %u has no room", RelationGetRelationName(index),
			 BufferGetBlockNumber(buf));

	/* nothing below may fail between GenericXLogStart and Finish */
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, isnew ? GENERIC_XLOG_FULL_IMAGE : 0);
	if (isnew)
		vec_init_page(page, VEC_PAGE_ELEMENT);

	aoff = PageAddItem(page, a, asz, InvalidOffsetNumber, false, false);
	if (aoff != InvalidOffsetNumber && b)
	{
		ItemPointerSet(&((VecElementTuple) b)->neighbortid, BufferGetBlockNumber(buf), aoff);
		boff = PageAddItem(page, b, bsz, InvalidOffsetNumber, false, false);
	}
	if (aoff == InvalidOffsetNumber || (b && boff == InvalidOffsetNumber))
	{
		GenericXLogAbort(state);
		elog(ERROR, "failed to add tuple to vechnsw index \"%s\"", RelationGetRelationName(index));
	}
	GenericXLogFinish(state);
	ItemPointerSet(atid, BufferGetBlockNumber(buf), aoff);
	if (b)
		ItemPointerSet(btid, BufferGetBlockNumber(buf), boff);
	*hint = BufferGetBlockNumber(buf);
	UnlockReleaseBuffer(buf);

	if (isnew)
		vec_set_insert_page(index, *hint);
}

/*
 * Reuse a free slot: find, through the free space map, a page whose free
 * space (VACUUM records it there after freeing elements) takes the pair,
 * and on it a free element whose neighbour tombstone is on the same page;
 * overwrite both tombstones with the new tuples (their line pointers, so
 * their TIDs, are reused; the new element takes the version VACUUM gave the
 * slot when it freed it, which no remaining edge carries).  A page with
 * room but no free pair takes the tuples as new items.  Returns false if
 * the map offers no usable page (the caller extends the index).
 */
static bool
vec_place_reuse(Relation index, VecElementTuple etup, Size esz, VecNeighborTuple ntup,
				Size nsz, ItemPointer etid, ItemPointer ntid)
{
	Size		need = MAXALIGN(esz) + MAXALIGN(nsz) + 2 * sizeof(ItemIdData);

	/* reusing a free pair needs only what its tombstones do not already hold */
	Size		growth = MAXALIGN(esz) - VEC_ELEMENT_TOMBSTONE_SIZE +
		MAXALIGN(nsz) - MAXALIGN(VEC_NEIGHBOR_TOMBSTONE_SIZE);
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (int attempt = 0; attempt < 4; attempt++)
	{
		BlockNumber blkno = GetPageWithFreeSpace(index, growth);
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff,
					eoff = InvalidOffsetNumber,
					noff = InvalidOffsetNumber;
		Size		freespace;
		GenericXLogState *state;
		bool		ok;

		if (!BlockNumberIsValid(blkno))
			return false;
		if (blkno == VECHNSW_METAPAGE_BLKNO || blkno >= nblocks)
		{
			RecordPageWithFreeSpace(index, blkno, 0);
			continue;
		}
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(index, blkno, 0);
			continue;
		}
		vec_check_page(index, page, blkno);
		freespace = PageGetExactFreeSpace(page);
		maxoff = PageGetMaxOffsetNumber(page);

		/* a free element with its neighbour tombstone on this page */
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			Size		len,
						nlen;
			VecElementTuple et = (VecElementTuple) vec_page_tuple(index, page, blkno, off, &len);
			VecNeighborTuple nt;

			if (et->type != VEC_TUPLE_ELEMENT || et->state != VEC_ELEM_FREE ||
				ItemPointerGetBlockNumberNoCheck(&et->neighbortid) != blkno)
				continue;
			nt = vec_page_item_len(page, ItemPointerGetOffsetNumber(&et->neighbortid), &nlen);
			if (!vec_neighbor_matches(nt, nlen, et->version, -1, 0))
				continue;
			if (MAXALIGN(esz) - MAXALIGN(len) + MAXALIGN(nsz) - MAXALIGN(nlen) > freespace)
				break;			/* the pair does not fit: no other will */
			eoff = off;
			noff = ItemPointerGetOffsetNumber(&et->neighbortid);
			etup->version = et->version;
			ntup->version = et->version;
			break;
		}
		if (eoff == InvalidOffsetNumber &&
			(freespace < need || maxoff + 2 > MaxOffsetNumber))
		{
			/*
			 * No free pair fits and there is no room for new tuples: hide the
			 * page until VACUUM records it again.
			 */
			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(index, blkno, 0);
			continue;
		}

		ItemPointerSet(ntid, blkno, noff);
		etup->neighbortid = *ntid;
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		if (eoff != InvalidOffsetNumber)
		{
			/* neighbour tombstone first: it grows the most */
			ok = PageIndexTupleOverwrite(page, noff, (Item) ntup, nsz) &&
				PageIndexTupleOverwrite(page, eoff, (Item) etup, esz);
		}
		else
		{
			noff = PageAddItem(page, (Item) ntup, nsz, InvalidOffsetNumber, false, false);
			ItemPointerSet(ntid, blkno, noff);
			etup->neighbortid = *ntid;
			eoff = noff == InvalidOffsetNumber ? InvalidOffsetNumber :
				PageAddItem(page, (Item) etup, esz, InvalidOffsetNumber, false, false);
			ok = eoff != InvalidOffsetNumber;
		}
		if (!ok)
		{
			GenericXLogAbort(state);
			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(index, blkno, freespace);
			continue;
		}
		GenericXLogFinish(state);
		ItemPointerSet(etid, blkno, eoff);
		/* (the image GenericXLog handed out is freed by now) */
		freespace = PageGetExactFreeSpace(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		RecordPageWithFreeSpace(index, blkno, freespace);
		return true;
	}
	return false;
}

/*
 * Insert vec (already prepared: normalised for cosine) with heaptid; its
 * level is drawn from prng (the build's seeded state, or the backend's).
 */
void
vec_insert_on_disk(Relation index, VecIndexInfo *info, float *vec, int dim,
				   ItemPointer heaptid, pg_prng_state *prng)
{
	vec_insert_on_disk_locked(index, info, vec, dim, heaptid, prng, -1, ShareLock);
}

/*
 * The insert proper, starting with the entry lock in lockmode (share;
 * exclusive when it may change the entry point).  The element's level is
 * drawn from prng once the meta page is read, unless a restart passes the
 * one drawn before (level >= 0).
 */
static void
vec_insert_on_disk_locked(Relation index, VecIndexInfo *info, float *vec, int dim,
						  ItemPointer heaptid, pg_prng_state *prng, int level,
						  LOCKMODE lockmode)
{
	VecMetaPageData meta;
	int			cb;
	bool		isolated = false;
	bool		first;
	char	   *code = NULL;
	VecDiskGraph dg;
	VecCand    *sel[VECHNSW_MAX_LEVEL + 1];
	int			nsel[VECHNSW_MAX_LEVEL + 1] = {0};
	VecCand    *ep;
	VecCand		self;
	int			ef = info->ef_construction;
	int			top = -1;
	float	   *scratch;
	Size		esz,
				nsz;
	VecElementTuple etup;
	VecNeighborTuple ntup;
	ItemPointerData etid,
				ntid;
	int			storage;
	int			retries;

	LockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
	vec_read_meta(index, &meta);

	cb = meta.dimensions ? meta.code_bytes : vec_code_bytes(meta.code_bits, dim, meta.m);
	if (level < 0)
		level = vec_random_level(prng, info->m, vec_max_level(info->m, cb));
	level = Min(level, vec_max_level(info->m, cb));
	if (lockmode != ExclusiveLock && (meta.entry_level < 0 || level > meta.entry_level))
	{
		/* may become the entry point: serialise with other such inserts */
		elog(DEBUG1, "vechnsw insert into \"%s\" at level %d above the entry point's %d: taking the entry lock in exclusive mode",
			 RelationGetRelationName(index), level, meta.entry_level);
		UnlockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
		vec_read_meta(index, &meta);
		if (meta.dimensions != 0)
		{
			cb = meta.code_bytes;
			level = Min(level, vec_max_level(info->m, cb));
		}
	}
	first = (meta.dimensions == 0);
	if (meta.dimensions != 0 && meta.dimensions != (uint32) dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %u and %d", meta.dimensions, dim),
				 errdetail("Index \"%s\" holds vectors of %u dimensions.",
						   RelationGetRelationName(index), meta.dimensions)));

	/* the vector as the element will hold it (f16 range errors come now) */
	storage = meta.storage;
	if (storage != VEC_STORAGE_F32)
		vec_check_storage(storage, vec, dim);
	if (first)
		vec_check_tuple_sizes(index, dim, storage, cb, meta.m);

	/* RaBitQ code of the new vector */
	if (cb > 0)
	{
		VecRabitq	tmp;
		VecRabitq  *rq;
		float	   *rot = palloc(sizeof(float) * vec_rq_padded_dim(dim));

		vec_index_info_load_codes(index, info, &meta, index->rd_indexcxt);
		if (first || info->rq == NULL)
		{
			/* first vector: it becomes the centroid (REINDEX uses the mean) */
			vec_rq_init(&tmp, dim, meta.rabitq_seed, vec);
			rq = &tmp;
		}
		else
			rq = info->rq;
		code = palloc0(cb);
		vec_rq_encode(rq, vec, (uint64 *) (code + sizeof(VecRqFactors)), (VecRqFactors *) code, rot);
	}

	vec_disk_graph_init(&dg, index, info, dim);
	dg.g.metric = vec_link_metric(info->metric);
	dg.code_bytes = cb;
	dg.g.storage = storage;
	scratch = palloc(sizeof(float) * dim * (2 * info->m + 1));
	ep = palloc(sizeof(VecCand) * Max(ef, 1));

	/* neighbours on every level (or the identical vector's element) */
	if (meta.entry_level >= 0 && vec_disk_entry(&dg, &meta, vec, &ep[0]))
	{
		if (!vec_find_neighbors(&dg.g, vec, ep, meta.entry_level, level, ef, true, heaptid,
								sel, nsel, scratch))
		{
			vec_disk_graph_done(&dg);
			UnlockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
			return;
		}
		top = Min(level, meta.entry_level);
	}

	/*
	 * Nothing live found (every element reachable is deleted, e.g. all rows
	 * were deleted and VACUUM has not finished, or the entry point is
	 * unusable): the new element becomes the entry point, or it would be
	 * unreachable.  That needs the entry lock in exclusive mode; start over
	 * with it.
	 */
	if (meta.entry_level >= 0 && (top < 0 || nsel[0] == 0))
	{
		if (lockmode != ExclusiveLock)
		{
			elog(DEBUG1, "vechnsw insert into \"%s\" found no live element: starting over to become the entry point",
				 RelationGetRelationName(index));
			vec_disk_graph_done(&dg);
			UnlockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
			vec_insert_on_disk_locked(index, info, vec, dim, heaptid, prng, level, ExclusiveLock);
			return;
		}
		for (int lc = 0; lc <= top; lc++)
			nsel[lc] = 0;
		top = -1;
		isolated = true;
	}

	/* build the two tuples, the element's own lists filled in */
	esz = VEC_ELEMENT_TUPLE_SIZE(dim, storage, cb);
	nsz = VEC_NEIGHBOR_TUPLE_SIZE(level, info->m, cb);
	etup = palloc0(esz);
	etup->type = VEC_TUPLE_ELEMENT;
	etup->state = VEC_ELEM_LIVE;
	etup->level = level;
	etup->ntids = 1;
	etup->version = 0;
	etup->dim = dim;
	etup->heaptids[0] = *heaptid;
	etup->codebytes = cb;
	vec_store_vector(storage, vec, etup->data, dim);
	if (cb > 0)
		memcpy(VecElementCode(etup, storage), code, cb);

	ntup = palloc0(nsz);
	ntup->type = VEC_TUPLE_NEIGHBOR;
	ntup->level = level;
	ntup->version = 0;
	ntup->m = info->m;
	ntup->codesize = cb;
	for (int i = 0; i < VEC_NEIGHBOR_SLOTS(level, info->m); i++)
		ItemPointerSetInvalid(&ntup->entries[i].tid);
	for (int lc = 0; lc <= top; lc++)
	{
		int			start = VEC_LEVEL_START(lc, info->m);

		for (int i = 0; i < nsel[lc]; i++)
		{
			vec_id_to_tid(sel[lc][i].id, &ntup->entries[start + i].tid);
			ntup->entries[start + i].version = sel[lc][i].version;
			ntup->entries[start + i].distance = sel[lc][i].dist;
			if (lc == 0 && cb > 0 &&
				!vec_disk_code(&dg, sel[lc][i].id, sel[lc][i].version, VecNeighborCode(ntup, i)))
				ItemPointerSetInvalid(&ntup->entries[start + i].tid);
		}
	}

	/*
	 * Write them: into a slot VACUUM freed when the free space map knows
	 * one, else together on the insert page or a new one when they fit on
	 * one page, else apart.
	 */
	if (MAXALIGN(esz) + MAXALIGN(nsz) + 2 * sizeof(ItemIdData) <= VEC_PAGE_USABLE)
	{
		if (!vec_place_reuse(index, etup, esz, ntup, nsz, &etid, &ntid))
		{
			BlockNumber hint = meta.insert_page;

			vec_place(index, &hint, (Item) ntup, nsz, (Item) etup, esz, &ntid, &etid);
		}
	}
	else
	{
		BlockNumber hint = meta.insert_page;
		ItemPointerData dummy;

		vec_place(index, &hint, (Item) ntup, nsz, NULL, 0, &ntid, &dummy);
		etup->neighbortid = ntid;
		vec_place(index, &hint, (Item) etup, esz, NULL, 0, &etid, &dummy);
	}

	/* back-links: the new element becomes reachable from here on */
	memset(&self, 0, sizeof(self));
	self.id = vec_tid_to_id(&etid);
	self.version = etup->version;
	self.level = level;
	self.state = VEC_ELEM_LIVE;
	self.ntid = ntid;
	retries = vec_link_neighbors(&dg.g, &self, top, sel, nsel, false, code, scratch);
	if (retries > 0)
		elog(DEBUG1, "vechnsw insert into \"%s\": %d neighbour list updates started over after concurrent changes",
			 RelationGetRelationName(index), retries);

	/* new entry point (we hold ExclusiveLock in that case) */
	if (meta.entry_level < level || meta.dimensions == 0 || isolated)
	{
		Buffer		buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
		GenericXLogState *state;
		VecMetaPage mp;
		Page		page;

		Assert(lockmode == ExclusiveLock);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		mp = VecPageGetMeta(page);
		if (mp->dimensions == 0)
			vec_meta_set_dimensions(page, dim, cb, vec);
		if (mp->entry_level < level || isolated)
		{
			vec_meta_set_entry(mp, &etid, level, etup->version);
		}
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}

	vec_disk_graph_done(&dg);
	UnlockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
}

/*
 * Extract, check and prepare the vector of an index datum into a palloc'd
 * copy.  Returns NULL when the vector is not indexed (zero vector under
 * cosine).
 */
float *
vec_datum_to_vector(Datum value, VecMetric metric, int *dim)
{
	ArrayType  *a = DatumGetArrayTypeP(value);
	float4	   *v = vec_array_values(a, dim);
	float	   *vec;

	if (*dim > VECHNSW_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector has %d dimensions, vechnsw indexes at most %d",
						*dim, VECHNSW_MAX_DIM),
				 errdetail("Indexes with storage = f32 (the default) take at most %d dimensions, with storage = f16 at most %d.",
						   VECHNSW_MAX_DIM_F32, VECHNSW_MAX_DIM)));
	vec = palloc(sizeof(float) * *dim);
	memcpy(vec, v, sizeof(float) * *dim);
	if (!vec_prepare(metric, vec, *dim))
		return NULL;
	return vec;
}

bool
vechnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			  Relation heap, IndexUniqueCheck checkUnique,
			  bool indexUnchanged, IndexInfo *indexInfo)
{
	VecIndexInfo *info;
	MemoryContext tmpcxt,
				oldcxt;
	float	   *vec;
	int			dim;
	VecRowContext rc;
	ErrorContextCallback errcb;

	/* NULL vectors are not indexed */
	if (isnull[0])
		return false;

	info = vec_index_info(index);
	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw insert",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(tmpcxt);

	rc.tid = heap_tid;
	rc.index = index;
	errcb.callback = vec_row_errcontext;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	vec = vec_datum_to_vector(values[0], info->metric, &dim);
	if (vec != NULL)
		vec_insert_on_disk(index, info, vec, dim, heap_tid, &pg_global_prng_state);
	error_context_stack = errcb.previous;

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(tmpcxt);
	return false;
}
