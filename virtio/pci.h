/* pci: a PCI bus 0 behind the legacy configuration mechanism (0xCF8/0xCFC) and ECAM, a host
 * bridge in slot 0, and the config-space model every PCI device here shares: a 256-byte
 * space with a per-byte write mask, BARs the VMM assigns in the 32-bit PCI hole. */
#ifndef RV_PCI_H
#define RV_PCI_H

#include "kvm/vm.h"

#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_SLOTS 32
#define PCI_CFG_SIZE 256
#define PCI_MMIO_START 0xe0000000ull
#define PCI_MMIO_END 0xfec00000ull /* the IOAPIC starts here */

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

struct pci_dev {
	char name[32];
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint64_t bar_addr[6], bar_size[6];
	uint8_t slot;
	uint8_t cap_end;          /* next free config offset for capabilities */
	uint8_t last_cap;         /* offset of the last capability (to chain the next) */
	/* After a config write (e.g. MSI-X enable), and for reads that need live values. */
	void (*cfg_written)(struct pci_dev *d, unsigned offset, unsigned size);
	void *ctx;
};

struct pci_bus {
	struct vm *vm;
	struct engine *engine;
	struct pci_dev *slots[PCI_MAX_SLOTS];
	struct pci_dev host_bridge;
	uint32_t config_address;
	uint64_t mmio_next;
};

/* Also maps the ECAM window (LAYOUT_PCI_ECAM) onto the same config spaces. */
int pci_bus_init(struct pci_bus *b, struct vm *vm, struct engine *e);
extern const struct bus_ops pci_ecam_ops;
/* Put d in the next free slot. */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d);
/* Address space for a BAR of size bytes (a power of two), naturally aligned; 0 if full. */
uint64_t pci_bus_alloc_mmio(struct pci_bus *b, uint64_t size);

void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t subsys_vendor, uint16_t subsys);
/* A 64-bit memory BAR at addr (size a power of two). */
void pci_dev_set_bar64(struct pci_dev *d, unsigned bar, uint64_t addr, uint64_t size);
/* Append a capability of len bytes (id and next pointer filled in); returns its offset. */
unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len);
uint32_t pci_cfg_read(struct pci_dev *d, unsigned offset, unsigned size);
void pci_cfg_write(struct pci_dev *d, unsigned offset, uint32_t value, unsigned size);

static inline uint16_t pci_cfg16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}
static inline void pci_set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void pci_set32(uint8_t *p, uint32_t v) { pci_set16(p, (uint16_t)v); pci_set16(p + 2, (uint16_t)(v >> 16)); }

#endif
