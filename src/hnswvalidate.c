/*-------------------------------------------------------------------------
 *
 * hnswvalidate.c
 *	  Opclass validator for vechnsw (amvalidate).
 *
 * An opclass is valid when its family has support function 1 with the
 * signature (real[], real[]) -> float8 that the index recognises as one of
 * its kernels, and ordering operators of strategy 1 sorting with a btree
 * float family: exactly one (real[], real[]) -> float8, and any number
 * taking a query vector of another numeric array type (double precision[],
 * numeric[], smallint[], integer[], bigint[]) on the right, all computing
 * the support function's distance.  Problems are reported with INFO and make the result false, as
 * PostgreSQL's own validators do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_am.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "vecidx.h"

#define FLOAT4ARRAY FLOAT4ARRAYOID

/* query-side types an ordering operator may take besides real[] */
static bool
vec_query_type_ok(Oid type)
{
	return type == FLOAT4ARRAYOID || type == FLOAT8ARRAYOID ||
		type == NUMERICARRAYOID || type == INT2ARRAYOID ||
		type == INT4ARRAYOID || type == INT8ARRAYOID;
}

/* access method of an operator family */
static Oid
vec_opfamily_method(Oid opfamily)
{
	HeapTuple	tup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamily));
	Oid			result;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	result = ((Form_pg_opfamily) GETSTRUCT(tup))->opfmethod;
	ReleaseSysCache(tup);
	return result;
}

bool
vechnswvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	HeapTuple	familytup;
	Form_pg_opfamily familyform;
	char	   *opfamilyname;
	CatCList   *proclist,
			   *oprlist;
	int			nops = 0,
				nprocs = 0;
	bool		have_metric = false;
	VecMetric	family_metric = VEC_METRIC_L2;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	if (!HeapTupleIsValid(familytup))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	familyform = (Form_pg_opfamily) GETSTRUCT(familytup);
	opfamilyname = NameStr(familyform->opfname);

	if (opcintype != FLOAT4ARRAY)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("vechnsw operator class \"%s\" is for type %s, but only real[] is supported",
						opclassname, format_type_be(opcintype))));
		result = false;
	}

	/* support functions */
	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < proclist->n_members; i++)
	{
		HeapTuple	proctup = &proclist->members[i]->tuple;
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(proctup);

		if (procform->amprocnum != 1)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("vechnsw operator family \"%s\" contains function %s with invalid support number %d",
							opfamilyname, format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
			continue;
		}
		nprocs++;
		if (!check_amproc_signature(procform->amproc, FLOAT8OID, true, 2, 2,
									FLOAT4ARRAY, FLOAT4ARRAY))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("vechnsw operator family \"%s\" contains function %s with wrong signature for support number %d",
							opfamilyname, format_procedure(procform->amproc), 1)));
			result = false;
		}
		else
		{
			VecMetric	metric;

			if (vec_metric_lookup(procform->amproc, &metric))
			{
				have_metric = true;
				family_metric = metric;
			}
			else
			{
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("vechnsw operator family \"%s\" support function %s is not a distance function vechnsw implements",
								opfamilyname, format_procedure(procform->amproc))));
				result = false;
			}
		}
	}

	/* operators */
	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		HeapTuple	oprtup = &oprlist->members[i]->tuple;
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(oprtup);

		if (oprform->amopstrategy != 1)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("vechnsw operator family \"%s\" contains operator %s with invalid strategy number %d",
							opfamilyname, format_operator(oprform->amopopr),
							oprform->amopstrategy)));
			result = false;
		}
		if (oprform->amoppurpose != AMOP_ORDER ||
			!OidIsValid(oprform->amopsortfamily) ||
			vec_opfamily_method(oprform->amopsortfamily) != BTREE_AM_OID)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("vechnsw operator family \"%s\" contains operator %s that is not an ordering operator with a btree sort family",
							opfamilyname, format_operator(oprform->amopopr))));
			result = false;
		}
		/*
		 * real[] on the left; on the right real[] (exactly one such operator)
		 * or another numeric array type for query vectors, computing the same
		 * distance as support function 1: the scan ranks by that function's
		 * kernel whichever of the family's operators the query used.
		 */
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype) ||
			oprform->amoplefttype != FLOAT4ARRAY ||
			!vec_query_type_ok(oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("vechnsw operator family \"%s\" contains operator %s with wrong signature",
							opfamilyname, format_operator(oprform->amopopr))));
			result = false;
		}
		else
		{
			VecMetric	metric;

			if (oprform->amoprighttype == FLOAT4ARRAY)
				nops++;
			if (have_metric &&
				(!vec_metric_lookup(get_opcode(oprform->amopopr), &metric) ||
				 metric != family_metric))
			{
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("vechnsw operator family \"%s\" contains operator %s that does not compute the distance of its support function",
								opfamilyname, format_operator(oprform->amopopr))));
				result = false;
			}
		}
	}

	if (nops != 1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("vechnsw operator family \"%s\" must contain exactly one operator on real[] and real[], has %d",
						opfamilyname, nops)));
		result = false;
	}
	if (nprocs != 1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("vechnsw operator family \"%s\" must contain support function 1",
						opfamilyname)));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(familytup);
	ReleaseSysCache(classtup);
	return result;
}
