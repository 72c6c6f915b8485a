/* aml: a byte-buffer builder for ACPI tables and the AML inside the DSDT. Objects with a
 * PkgLength (scopes, devices, methods, packages, buffers, If) are opened with *_begin and
 * closed with aml_end, which encodes the length once the contents are known; names,
 * integers and resource descriptors are emitted in their shortest valid encoding.
 * Errors (out of memory, unbalanced ends, a bad name) are sticky: check aml->error once
 * at the end. */
#ifndef RV_AML_H
#define RV_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
	uint8_t *buf;
	size_t len, cap;
	size_t open[AML_MAX_DEPTH]; /* where each open object's contents start */
	unsigned depth;
	int error;                  /* 0 or a negative errno */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

/* Raw little-endian data (table headers and fixed structures). */
void aml_u8(struct aml *a, uint8_t v);
void aml_u16(struct aml *a, uint16_t v);
void aml_u32(struct aml *a, uint32_t v);
void aml_u64(struct aml *a, uint64_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_put_u32(struct aml *a, size_t at, uint32_t v); /* patch a field written earlier */

/* Data objects. */
void aml_int(struct aml *a, uint64_t v);        /* Zero, One, Byte/Word/DWord/QWord const */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id); /* "PNP0A08" as its compressed DWord */
/* A name path: "\\_SB.PCI0", "^PWRB", "GDAT"; segments shorter than 4 are padded with '_'. */
void aml_namestring(struct aml *a, const char *path);

/* Named objects and statements. */
void aml_name(struct aml *a, const char *name);  /* Name(name, <next object>) */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
void aml_package_begin(struct aml *a, unsigned n_elements);
void aml_if_begin(struct aml *a);                /* then the predicate, then the body */
void aml_end(struct aml *a);                     /* close the innermost *_begin */
void aml_store(struct aml *a);                   /* Store(<src>, <dst>) */
void aml_and(struct aml *a);                     /* And(<a>, <b>, <target>): then 3 objects */
void aml_null(struct aml *a);                    /* NullName: "no target" */
void aml_notify(struct aml *a);                  /* Notify(<object>, <value>) */
void aml_local(struct aml *a, unsigned n);       /* Local0..7 */

enum aml_region { AML_SYSTEM_MEMORY = 0, AML_SYSTEM_IO = 1 };
/* OperationRegion(name, space, offset, length) */
void aml_opregion(struct aml *a, const char *name, enum aml_region space, uint64_t offset, uint64_t length);
/* Field(region, DWordAcc, NoLock, WriteAsZeros) { name, bits } with one field. */
void aml_field32(struct aml *a, const char *region, const char *name);

/* Resource template contents: build them in their own struct aml, then aml_restemplate()
 * wraps them (with the end tag and checksum) as a Buffer. */
void aml_res_memory32_fixed(struct aml *r, uint32_t base, uint32_t len, bool writable);
/* Extended interrupt: edge or level, active high or low, exclusive, consumer. */
void aml_res_interrupt(struct aml *r, uint32_t gsi, bool level, bool active_low);
void aml_res_io(struct aml *r, uint16_t base, uint8_t len);
void aml_res_bus_numbers(struct aml *r, uint16_t first, uint16_t last);
void aml_res_io_window(struct aml *r, uint16_t min, uint16_t max);
void aml_res_mem32_window(struct aml *r, uint32_t min, uint32_t max);
void aml_restemplate(struct aml *a, const struct aml *r);

#endif
