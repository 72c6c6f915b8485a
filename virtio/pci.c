/* pci: bus 0, config mechanism #1, config space model. See pci.h. */
#include "pci.h"

#include "engine/log.h"
#include "kvm/layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PORT_PCI_ADDR 0xcf8
#define PORT_PCI_DATA 0xcfc

void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t subsys_vendor, uint16_t subsys)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	pci_set16(d->cfg + 0x00, vendor);
	pci_set16(d->cfg + 0x02, device);
	pci_set32(d->cfg + 0x08, class_rev);
	pci_set16(d->cfg + 0x2c, subsys_vendor);
	pci_set16(d->cfg + 0x2e, subsys);
	pci_set16(d->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400 /* INTx disable */);
	d->wmask[0x3c] = 0xff; /* interrupt line: scratch for the OS */
	d->cap_end = 0x40;
}

void pci_dev_set_bar64(struct pci_dev *d, unsigned bar, uint64_t addr, uint64_t size)
{
	unsigned off = PCI_BAR0 + 4 * bar;
	d->bar_addr[bar] = addr;
	d->bar_size[bar] = size;
	pci_set32(d->cfg + off, (uint32_t)addr | 0x4 /* 64-bit memory */);
	pci_set32(d->cfg + off + 4, (uint32_t)(addr >> 32));
	/* Address bits above the size are writable: writing all ones reads back the size. */
	uint64_t mask = ~(size - 1);
	pci_set32(d->wmask + off, (uint32_t)mask & ~0xfu);
	pci_set32(d->wmask + off + 4, (uint32_t)(mask >> 32));
}

unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len)
{
	unsigned off = d->cap_end;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	pci_set16(d->cfg + PCI_STATUS, pci_cfg16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->last_cap = (uint8_t)off;
	d->cap_end = (uint8_t)((off + len + 3) & ~3u);
	return off;
}

uint32_t pci_cfg_read(struct pci_dev *d, unsigned offset, unsigned size)
{
	uint32_t v = 0;
	if (offset + size > PCI_CFG_SIZE)
		return 0xffffffff;
	memcpy(&v, d->cfg + offset, size);
	return v;
}

static void check_bar(struct pci_dev *d, unsigned offset)
{
	unsigned bar = (offset - PCI_BAR0) / 4;
	if (bar >= 6 || !d->bar_size[bar & ~1u])
		return;
	bar &= ~1u; /* 64-bit BARs use two registers */
	unsigned off = PCI_BAR0 + 4 * bar;
	uint64_t v = (uint64_t)pci_cfg_read(d, off, 4) | (uint64_t)pci_cfg_read(d, off + 4, 4) << 32;
	v &= ~0xfull;
	uint64_t sizing = ~(d->bar_size[bar] - 1) & ~0xfull;
	if (v == d->bar_addr[bar] || (uint32_t)v == (uint32_t)sizing || (uint32_t)(v >> 32) == (uint32_t)(sizing >> 32))
		return; /* restored, or being sized one half at a time */
	/* Moving a BAR would need the MMIO bus and ioeventfds to move with it, while vCPUs
	 * read that bus without locks: not supported. Keep the assigned address. */
	log_warn("pci %s: the guest moved BAR%u to 0x%llx; relocation is not supported, it stays at 0x%llx", d->name,
		 bar, (unsigned long long)v, (unsigned long long)d->bar_addr[bar]);
	pci_set32(d->cfg + off, (uint32_t)d->bar_addr[bar] | 0x4);
	pci_set32(d->cfg + off + 4, (uint32_t)(d->bar_addr[bar] >> 32));
}

void pci_cfg_write(struct pci_dev *d, unsigned offset, uint32_t value, unsigned size)
{
	if (offset + size > PCI_CFG_SIZE)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(value >> (8 * i));
		d->cfg[offset + i] = (uint8_t)((d->cfg[offset + i] & ~d->wmask[offset + i]) | (b & d->wmask[offset + i]));
	}
	if (offset >= PCI_BAR0 && offset < PCI_BAR0 + 24)
		check_bar(d, offset);
	if (d->cfg_written)
		d->cfg_written(d, offset, size);
}

/* ---- configuration mechanism #1 on the port bus ---- */
static struct pci_dev *addressed(struct pci_bus *b, unsigned *reg)
{
	uint32_t a = b->config_address;
	if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0 || ((a >> 8) & 7) != 0)
		return NULL; /* disabled, another bus, or a function other than 0 */
	*reg = a & 0xfc;
	return b->slots[(a >> 11) & 0x1f];
}

static void pci_port_write(void *dev, uint64_t port, uint64_t value, unsigned size)
{
	struct pci_bus *b = dev;
	if (port == PORT_PCI_ADDR && size == 4) {
		b->config_address = (uint32_t)value;
		return;
	}
	if (port < PORT_PCI_DATA)
		return;
	unsigned reg;
	struct pci_dev *d = addressed(b, &reg);
	unsigned off = reg + (unsigned)(port - PORT_PCI_DATA);
	if (d && off + size <= PCI_CFG_SIZE)
		pci_cfg_write(d, off, (uint32_t)value, size);
}

static uint64_t pci_port_read(void *dev, uint64_t port, unsigned size)
{
	struct pci_bus *b = dev;
	if (port == PORT_PCI_ADDR && size == 4)
		return b->config_address;
	if (port < PORT_PCI_DATA)
		return 0xffffffff;
	unsigned reg;
	struct pci_dev *d = addressed(b, &reg);
	unsigned off = reg + (unsigned)(port - PORT_PCI_DATA);
	if (!d || off + size > PCI_CFG_SIZE)
		return 0xffffffff; /* no device: all ones, as on real buses */
	return pci_cfg_read(d, off, size);
}

static const struct bus_ops pci_port_ops = { .write = pci_port_write, .read = pci_port_read };

/* ---- ECAM: bus 0 memory-mapped, 4 KiB per function (offset = dev << 15 | fn << 12 | reg) ---- */
static struct pci_dev *ecam_dev(struct pci_bus *b, uint64_t addr, unsigned size, unsigned *reg)
{
	uint64_t off = addr - LAYOUT_PCI_ECAM;
	*reg = (unsigned)(off & 0xfff);
	if (off >= LAYOUT_PCI_ECAM_SIZE || ((off >> 12) & 7) != 0 || (*reg & (size - 1)) || size > 4)
		return NULL; /* outside bus 0, a function other than 0, or a misaligned access */
	return b->slots[(off >> 15) & 0x1f];
}

static void pci_ecam_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	unsigned reg;
	struct pci_dev *d = ecam_dev(dev, addr, size, &reg);
	if (d && reg + size <= PCI_CFG_SIZE)
		pci_cfg_write(d, reg, (uint32_t)value, size);
}

static uint64_t pci_ecam_read(void *dev, uint64_t addr, unsigned size)
{
	unsigned reg;
	struct pci_dev *d = ecam_dev(dev, addr, size, &reg);
	uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (!d)
		return ones;
	if (reg + size > PCI_CFG_SIZE)
		return 0; /* extended space: no extended capabilities */
	return pci_cfg_read(d, reg, size);
}

const struct bus_ops pci_ecam_ops = { .write = pci_ecam_write, .read = pci_ecam_read };

int pci_bus_init(struct pci_bus *b, struct vm *vm, struct engine *e)
{
	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->engine = e;
	b->mmio_next = PCI_MMIO_START;
	/* A plain host bridge (Red Hat's PCIe host bridge ids: no driver needs anything of it). */
	pci_dev_init(&b->host_bridge, "host-bridge", 0x1b36, 0x0008, 0x06000000, 0x1af4, 0x1100);
	b->slots[0] = &b->host_bridge;
	int ret = bus_add(&vm->pio, PORT_PCI_ADDR, 8, &pci_port_ops, b, e, "pci-config");
	if (ret < 0)
		return ret;
	return bus_add(&vm->mmio, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, &pci_ecam_ops, b, e, "pci-ecam");
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d)
{
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		if (b->slots[s])
			continue;
		b->slots[s] = d;
		d->slot = (uint8_t)s;
		return 0;
	}
	log_error("pci: no free slot for %s (at most %d devices)", d->name, PCI_MAX_SLOTS - 1);
	return -ENOSPC;
}

uint64_t pci_bus_alloc_mmio(struct pci_bus *b, uint64_t size)
{
	uint64_t addr = (b->mmio_next + size - 1) & ~(size - 1);
	if (addr + size > PCI_MMIO_END)
		return 0;
	b->mmio_next = addr + size;
	return addr;
}
