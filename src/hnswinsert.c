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
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

#define VEC_UPDATE_RETRIES 8

/*
 * Try to add heaptid to an existing element holding the identical vector.
 * Returns true on success.
 */
static bool
vec_add_heaptid(Relation index, VecCand *c, const void *stored, Size nbytes, int dim,
				ItemPointer heaptid)
{
	ItemPointerData etid;
	Buffer		buf;
	Page		page;
	VecElementTuple et;
	bool		done = false;

	vec_id_to_tid(c->id, &etid);
	buf = ReadBuffer(index, ItemPointerGetBlockNumber(&etid));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	et = vec_page_item(page, ItemPointerGetOffsetNumber(&etid));
	if (et != NULL && et->type == VEC_TUPLE_ELEMENT && et->version == c->version &&
		et->state == VEC_ELEM_LIVE && et->ntids < VECHNSW_HEAPTIDS &&
		et->dim == dim && memcmp(et->data, stored, nbytes) == 0)
	{
		GenericXLogState *state = GenericXLogStart(index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		et = vec_page_item(page, ItemPointerGetOffsetNumber(&etid));
		et->heaptids[et->ntids++] = *heaptid;
		GenericXLogFinish(state);
		done = true;
	}
	UnlockReleaseBuffer(buf);
	return done;
}

/*
 * Get a page with at least 'need' bytes free (for tuples and their line
 * pointers), exclusively locked.  *isnew tells whether it was just added.
 */
static Buffer
vec_page_with_room(Relation index, BlockNumber hint, Size need, bool *isnew)
{
	Buffer		buf;

	if (BlockNumberIsValid(hint) && hint < RelationGetNumberOfBlocks(index))
	{
		Page		page;

		buf = ReadBuffer(index, hint);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
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
	OffsetNumber off;

	if (b)
		need += MAXALIGN(bsz) + sizeof(ItemIdData);

	buf = vec_page_with_room(index, *hint, need, &isnew);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, isnew ? GENERIC_XLOG_FULL_IMAGE : 0);
	if (isnew)
		vec_init_page(page, VEC_PAGE_ELEMENT);

	off = PageAddItem(page, a, asz, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add tuple to vechnsw index \"%s\"", RelationGetRelationName(index));
	ItemPointerSet(atid, BufferGetBlockNumber(buf), off);
	if (b)
	{
		((VecElementTuple) b)->neighbortid = *atid;
		off = PageAddItem(page, b, bsz, InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
			elog(ERROR, "failed to add tuple to vechnsw index \"%s\"", RelationGetRelationName(index));
		ItemPointerSet(btid, BufferGetBlockNumber(buf), off);
	}
	GenericXLogFinish(state);
	*hint = BufferGetBlockNumber(buf);
	UnlockReleaseBuffer(buf);

	if (isnew)
		vec_set_insert_page(index, *hint);
}

/* write the entries of one level into a neighbour tuple (in a page copy) */
static bool
vec_level_equal(VecNeighborEntry *a, VecNeighborEntry *b, int n)
{
	return memcmp(a, b, sizeof(VecNeighborEntry) * n) == 0;
}

/*
 * Add the edge nb -> (newtid, newversion, dist) to nb's list on level lc,
 * pruning the list with the heuristic when it is full.
 */
static void
vec_update_neighbor(Relation index, VecDiskGraph *dg, VecCand *nb, int lc,
					ItemPointer newtid, uint16 newversion, float dist, float *scratch,
					const char *newcode, char *codebuf)
{
	int			m = dg->g.m;
	int			cap = VEC_LEVEL_CAP(lc, m);
	int			start = VEC_LEVEL_START(lc, m);
	VecNeighborEntry old[2 * VECHNSW_MAX_M];
	VecNeighborEntry new[2 * VECHNSW_MAX_M];
	VecCand		cands[2 * VECHNSW_MAX_M + 1];
	VecCand		sel[2 * VECHNSW_MAX_M];
	Buffer		buf;
	int			cs = 0;			/* code slot size of this list, 0 = none */
	char	   *oldcodes = codebuf;
	char	   *newcodes = codebuf ? codebuf + 2 * m * dg->code_bytes : NULL;

	if (!ItemPointerIsValid(&nb->ntid))
		return;
	buf = ReadBuffer(index, ItemPointerGetBlockNumber(&nb->ntid));

	for (int attempt = 0; attempt < VEC_UPDATE_RETRIES; attempt++)
	{
		VecNeighborTuple nt;
		Page		page;
		int			count = 0;
		int			empty = -1;
		float		maxdist = -get_float4_infinity();
		bool		present = false;
		GenericXLogState *state;

		/* 1. copy the current list under a share lock */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		nt = vec_page_item(BufferGetPage(buf), ItemPointerGetOffsetNumber(&nb->ntid));
		if (nt == NULL || nt->type != VEC_TUPLE_NEIGHBOR || nt->version != nb->version ||
			lc > nt->level)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			break;
		}
		memcpy(old, &nt->entries[start], sizeof(VecNeighborEntry) * cap);
		cs = (lc == 0 && codebuf != NULL && nt->codesize == dg->code_bytes) ? nt->codesize : 0;
		if (cs > 0)
			memcpy(oldcodes, VecNeighborCode(nt, 0), (Size) cap * cs);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);

		/* 2. compute the new list without holding a lock */
		for (int i = 0; i < cap; i++)
		{
			if (!ItemPointerIsValid(&old[i].tid))
			{
				if (empty < 0)
					empty = i;
				continue;
			}
			if (ItemPointerEquals(&old[i].tid, newtid))
				present = true;
			count++;
			maxdist = Max(maxdist, old[i].distance);
		}
		if (present)
			break;

		memcpy(new, old, sizeof(VecNeighborEntry) * cap);
		if (cs > 0)
			memcpy(newcodes, oldcodes, (Size) cap * cs);
		if (empty >= 0)
		{
			new[empty].tid = *newtid;
			new[empty].version = newversion;
			new[empty].distance = dist;
			if (cs > 0)
				memcpy(newcodes + (Size) empty * cs, newcode, cs);
		}
		else
		{
			int			ncands = 0;
			int			nsel;
			bool		kept_new = false;

			/* a full list only takes an element nearer than its farthest */
			if (dist >= maxdist)
				break;
			for (int i = 0; i < cap; i++)
			{
				cands[ncands].id = vec_tid_to_id(&old[i].tid);
				cands[ncands].version = old[i].version;
				cands[ncands].dist = old[i].distance;
				ncands++;
			}
			cands[ncands].id = vec_tid_to_id(newtid);
			cands[ncands].version = newversion;
			cands[ncands].dist = dist;
			ncands++;
			vec_sort_cands(cands, ncands);
			nsel = vec_select_neighbors(&dg->g, cands, ncands, cap, sel, scratch);
			for (int i = 0; i < cap; i++)
			{
				if (i < nsel)
				{
					vec_id_to_tid(sel[i].id, &new[i].tid);
					new[i].version = sel[i].version;
					new[i].distance = sel[i].dist;
					if (ItemPointerEquals(&new[i].tid, newtid))
					{
						kept_new = true;
						if (cs > 0)
							memcpy(newcodes + (Size) i * cs, newcode, cs);
					}
					else if (cs > 0)
					{
						/* carry the kept neighbour's code along */
						for (int k = 0; k < cap; k++)
							if (ItemPointerEquals(&old[k].tid, &new[i].tid))
							{
								memcpy(newcodes + (Size) i * cs, oldcodes + (Size) k * cs, cs);
								break;
							}
					}
				}
				else
				{
					ItemPointerSetInvalid(&new[i].tid);
					new[i].version = 0;
					new[i].distance = 0;
					if (cs > 0)
						memset(newcodes + (Size) i * cs, 0, cs);
				}
			}
			if (!kept_new)
				break;
		}

		/* 3. install it if the list is unchanged, else start over */
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		nt = vec_page_item(page, ItemPointerGetOffsetNumber(&nb->ntid));
		if (nt == NULL || nt->type != VEC_TUPLE_NEIGHBOR || nt->version != nb->version)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			break;
		}
		if (!vec_level_equal(&nt->entries[start], old, cap))
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			continue;
		}
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		nt = vec_page_item(page, ItemPointerGetOffsetNumber(&nb->ntid));
		memcpy(&nt->entries[start], new, sizeof(VecNeighborEntry) * cap);
		if (cs > 0)
			memcpy(VecNeighborCode(nt, 0), newcodes, (Size) cap * cs);
		GenericXLogFinish(state);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		break;
	}
	ReleaseBuffer(buf);
}

/*
 * Insert vec (already prepared: normalised for cosine) with heaptid; its
 * level is drawn from prng (the build's seeded state, or the backend's).
 */
void
vec_insert_on_disk(Relation index, VecIndexInfo *info, float *vec, int dim,
				   ItemPointer heaptid, pg_prng_state *prng)
{
	VecMetaPageData meta;
	LOCKMODE	lockmode = ShareLock;
	int			level;
	int			cb;
	bool		first;
	char	   *code = NULL;
	char	   *codebuf = NULL;
	VecDiskGraph dg;
	VecCand    *sel[VECHNSW_MAX_LEVEL + 1];
	int			nsel[VECHNSW_MAX_LEVEL + 1] = {0};
	VecCand    *res;
	VecCand    *ep;
	int			nep = 0;
	int			ef = info->ef_construction;
	float	   *scratch;
	Size		esz,
				nsz;
	VecElementTuple etup;
	VecNeighborTuple ntup;
	ItemPointerData etid,
				ntid;
	bool		top;
	int			storage;
	Size		vbytes;
	void	   *stored;

	LockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
	vec_read_meta(index, &meta);

	cb = meta.dimensions ? meta.code_bytes : vec_code_bytes(meta.code_bits, dim, meta.m);
	level = vec_random_level(prng, info->m, vec_max_level(info->m, cb));
	if (meta.entry_level < 0 || level > meta.entry_level)
	{
		/* may become the entry point: serialise with other such inserts */
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
	vbytes = VEC_VECTOR_BYTES(dim, storage);
	stored = vec;
	if (storage != VEC_STORAGE_F32)
	{
		stored = palloc(vbytes);
		vec_store_vector(storage, vec, stored, dim);
	}

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
		codebuf = palloc(2 * (Size) 2 * info->m * cb);
	}

	vec_disk_graph_init(&dg, index, info, dim);
	dg.code_bytes = cb;
	dg.g.storage = storage;
	scratch = palloc(sizeof(float) * dim * (2 * info->m + 1));
	res = palloc(sizeof(VecCand) * Max(ef, 2 * info->m + 1));
	ep = palloc(sizeof(VecCand) * Max(ef, 1));

	if (meta.entry_level >= 0 && vec_disk_entry(&dg, &meta, vec, &ep[0]))
	{
		nep = 1;
		if (meta.entry_level > level)
			vec_greedy_descend(&dg.g, vec, &ep[0], meta.entry_level, level);

		for (int lc = Min(level, meta.entry_level); lc >= 0; lc--)
		{
			VecIdSet	visited;
			int			n;

			vec_idset_init(&visited, ef * info->m);
			n = vec_search_layer(&dg.g, vec, ep, nep, ef, lc, res, &visited);

			/* the identical vector already indexed: share its element */
			if (lc == 0)
			{
				for (int i = 0; i < n && res[i].dist <= 0; i++)
				{
					if (vec_add_heaptid(index, &res[i], stored, vbytes, dim, heaptid))
					{
						vec_disk_graph_done(&dg);
						UnlockPage(index, VECHNSW_METAPAGE_BLKNO, lockmode);
						return;
					}
				}
			}

			sel[lc] = palloc(sizeof(VecCand) * VEC_LEVEL_CAP(lc, info->m));
			nsel[lc] = vec_select_neighbors(&dg.g, res, n, VEC_LEVEL_CAP(lc, info->m),
											sel[lc], scratch);
			memcpy(ep, res, sizeof(VecCand) * n);
			nep = n;
		}
	}

	/* build the two tuples */
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
	memcpy(etup->data, stored, vbytes);
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
	for (int lc = 0; lc <= level; lc++)
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

	/* write them: together on one page when they fit, else apart */
	{
		BlockNumber hint = meta.insert_page;

		if (MAXALIGN(esz) + MAXALIGN(nsz) + 2 * sizeof(ItemIdData) <= VEC_PAGE_USABLE)
			vec_place(index, &hint, (Item) ntup, nsz, (Item) etup, esz, &ntid, &etid);
		else
		{
			ItemPointerData dummy;

			vec_place(index, &hint, (Item) ntup, nsz, NULL, 0, &ntid, &dummy);
			etup->neighbortid = ntid;
			vec_place(index, &hint, (Item) etup, esz, NULL, 0, &etid, &dummy);
		}
	}

	/* back-links: the new element becomes reachable from here on */
	for (int lc = 0; lc <= level; lc++)
		for (int i = 0; i < nsel[lc]; i++)
			vec_update_neighbor(index, &dg, &sel[lc][i], lc, &etid, 0,
								sel[lc][i].dist, scratch,
								lc == 0 ? code : NULL, lc == 0 ? codebuf : NULL);

	/* new entry point (we hold ExclusiveLock in that case) */
	top = (meta.entry_level < level || meta.dimensions == 0);
	if (top)
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
		if (mp->entry_level < level)
		{
			mp->entry_blkno = ItemPointerGetBlockNumber(&etid);
			mp->entry_offno = ItemPointerGetOffsetNumber(&etid);
			mp->entry_level = level;
			mp->entry_version = 0;
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
						*dim, VECHNSW_MAX_DIM)));
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

	/* NULL vectors are not indexed */
	if (isnull[0])
		return false;

	info = vec_index_info(index);
	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw insert",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(tmpcxt);

	vec = vec_datum_to_vector(values[0], info->metric, &dim);
	if (vec != NULL)
		vec_insert_on_disk(index, info, vec, dim, heap_tid, &pg_global_prng_state);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(tmpcxt);
	return false;
}
