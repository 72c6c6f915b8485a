/* mptable: MP floating pointer + configuration table. See mptable.h. */
#include "mptable.h"

#include "layout.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct mpf {
	char signature[4];
	uint32_t physptr;
	uint8_t length, specrev, checksum, feature1, feature2, feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_header {
	char signature[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], product[12];
	uint32_t oemptr;
	uint16_t oemsize, oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

uint8_t firmware_checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + ((const uint8_t *)p)[i]);
	return (uint8_t)-sum;
}

int mptable_write(const struct guest_mem *m, unsigned n_cpus)
{
	const unsigned n_irqs = 16;
	size_t size = sizeof(struct mpf) + sizeof(struct mpc_header) + n_cpus * sizeof(struct mpc_cpu) +
		      sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) + (n_irqs + 2) * sizeof(struct mpc_intsrc);
	uint8_t *base = guest_mem_ptr(m, LAYOUT_BIOS_START, size);
	uint8_t ioapic_id = LAYOUT_IOAPIC_ID(n_cpus);

	if (!base || n_cpus == 0 || n_cpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	memset(base, 0, size);
	struct mpf *mpf = (struct mpf *)base;
	struct mpc_header *h = (struct mpc_header *)(mpf + 1);
	uint8_t *p = (uint8_t *)(h + 1);

	for (unsigned i = 0; i < n_cpus; i++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;
		c->type = MP_PROCESSOR;
		c->apicid = (uint8_t)i;
		c->apicver = 0x14;
		c->cpuflag = 1 | (i == 0 ? 2 : 0); /* enabled, BSP */
		c->cpufeature = 0x600;             /* family 6 */
		c->featureflag = 0x201;            /* FPU, APIC */
		p += sizeof(*c);
	}
	struct mpc_bus *bus = (struct mpc_bus *)p;
	bus->type = MP_BUS;
	bus->busid = 0;
	memcpy(bus->bustype, "ISA   ", 6);
	p += sizeof(*bus);
	struct mpc_ioapic *io = (struct mpc_ioapic *)p;
	io->type = MP_IOAPIC;
	io->apicid = ioapic_id;
	io->apicver = 0x11;
	io->flags = 1;
	io->apicaddr = (uint32_t)LAYOUT_IOAPIC;
	p += sizeof(*io);
	for (unsigned irq = 0; irq < n_irqs; irq++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		s->type = MP_INTSRC;
		s->irqtype = MP_INT;
		s->srcbus = 0;
		s->srcbusirq = (uint8_t)irq;
		s->dstapic = ioapic_id;
		/* ISA IRQ0 (the PIT) arrives on IOAPIC pin 2, as on every PC */
		s->dstirq = (uint8_t)(irq == 0 ? 2 : irq);
		p += sizeof(*s);
	}
	struct mpc_intsrc *l0 = (struct mpc_intsrc *)p, *l1 = l0 + 1;
	*l0 = (struct mpc_intsrc){ MP_LINTSRC, MP_EXTINT, 0, 0, 0, 0xff, 0 };
	*l1 = (struct mpc_intsrc){ MP_LINTSRC, MP_NMI, 0, 0, 0, 0xff, 1 };
	p = (uint8_t *)(l1 + 1);

	memcpy(h->signature, "PCMP", 4);
	h->length = (uint16_t)(p - (uint8_t *)h);
	h->spec = 4;
	memcpy(h->oem, "RINGVSR ", 8);
	memcpy(h->product, "ringvisor   ", 12);
	h->oemcount = (uint16_t)(n_cpus + 1 + 1 + n_irqs + 2);
	h->lapic = (uint32_t)LAYOUT_LAPIC;
	h->checksum = firmware_checksum(h, h->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(LAYOUT_BIOS_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specrev = 4;
	mpf->checksum = firmware_checksum(mpf, sizeof(*mpf));
	return 0;
}
