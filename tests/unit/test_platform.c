/* Unit tests for the platform devices driven through their bus ops, as the engine would:
 * PCI ECAM decoding onto the same config spaces as 0xCF8/0xCFC; the virtio-mmio
 * transport's registers (version 2) including hostile values; the ACPI power registers
 * (S5 power off, reset → reboot, the GED event register). */
#include "check.h"

#include "engine/engine.h"
#include "engine/log.h"
#include "kvm/layout.h"
#include "kvm/power.h"
#include "virtio/pci.h"
#include "virtio/virtio_mmio.h"

static struct engine eng;

static struct vm *new_vm(void)
{
	static struct vm vm;
	memset(&vm, 0, sizeof(vm));
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	vm.kvm.vm_fd = -1;
	return &vm;
}

static void free_vm(struct vm *vm)
{
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
}

static uint64_t rd(struct bus *b, uint64_t addr, unsigned size)
{
	const struct bus_entry *e = bus_find(b, addr, size);
	return e ? e->ops->read(e->dev, addr, size) : 0xdeadbeef;
}

static void wr(struct bus *b, uint64_t addr, uint64_t v, unsigned size)
{
	const struct bus_entry *e = bus_find(b, addr, size);
	if (e)
		e->ops->write(e->dev, addr, v, size);
}

static uint32_t cf8_read(struct vm *vm, unsigned dev, unsigned fn, unsigned reg)
{
	wr(&vm->pio, 0xcf8, 0x80000000u | dev << 11 | fn << 8 | reg, 4);
	return (uint32_t)rd(&vm->pio, 0xcfc, 4);
}

#define ECAM(dev, fn, reg) (LAYOUT_PCI_ECAM + ((uint64_t)(dev) << 15) + ((fn) << 12) + (reg))

static void test_ecam(void)
{
	struct vm *vm = new_vm();
	static struct pci_bus b;
	static struct pci_dev d;
	CHECK_EQ(pci_bus_init(&b, vm, &eng), 0);
	pci_dev_init(&d, "t", 0x1af4, 0x1042, 0x01800001, 0x1af4, 0x1042);
	CHECK_EQ(pci_bus_add(&b, &d), 0);
	/* the same registers through both mechanisms */
	CHECK_EQ(rd(&vm->mmio, ECAM(0, 0, 0), 4), 0x00081b36);
	CHECK_EQ(rd(&vm->mmio, ECAM(0, 0, 0), 4), cf8_read(vm, 0, 0, 0));
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 0), 4), 0x10421af4);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 2), 2), 0x1042);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 8), 4), cf8_read(vm, 1, 0, 8));
	/* a write through ECAM is seen through 0xCFC (command: memory + bus master) */
	wr(&vm->mmio, ECAM(1, 0, PCI_COMMAND), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	CHECK_EQ(cf8_read(vm, 1, 0, PCI_COMMAND) & 0xffff, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* read-only fields stay */
	wr(&vm->mmio, ECAM(1, 0, 0), 0, 4);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 0), 4), 0x10421af4);
	/* nothing there: all ones, of the access's width */
	CHECK_EQ(rd(&vm->mmio, ECAM(2, 0, 0), 4), 0xffffffff);
	CHECK_EQ(rd(&vm->mmio, ECAM(31, 0, 0), 2), 0xffff);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 3, 0), 4), 0xffffffff);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 1), 4), 0xffffffff); /* misaligned */
	/* extended space of a present function: no capabilities */
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 0x100), 4), 0);
	wr(&vm->mmio, ECAM(1, 0, 0xffc), 0x12345678, 4);
	CHECK_EQ(rd(&vm->mmio, ECAM(1, 0, 0xffc), 4), 0);
	/* the window is bus 0 only: the last byte belongs to it, the next one does not */
	CHECK(bus_find(&vm->mmio, LAYOUT_PCI_ECAM + LAYOUT_PCI_ECAM_SIZE - 4, 4));
	CHECK(!bus_find(&vm->mmio, LAYOUT_PCI_ECAM + LAYOUT_PCI_ECAM_SIZE, 4));
	/* and 0xCF8 still works for a function other than 0: all ones */
	CHECK_EQ(cf8_read(vm, 1, 1, 0), 0xffffffff);
	free_vm(vm);
}

/* ---- virtio-mmio ---- */
static uint8_t cfg_bytes[16] = { 0x11, 0x22, 0x33, 0x44 };
static unsigned resets;

static uint64_t cfg_read(struct virtio_dev *d, unsigned off, unsigned size)
{
	(void)d;
	uint64_t v = 0;
	if (off + size <= sizeof(cfg_bytes))
		memcpy(&v, cfg_bytes + off, size);
	return v;
}

static unsigned dev_reset(struct virtio_dev *d)
{
	(void)d;
	resets++;
	return 0;
}

static void no_work(struct virtio_dev *d, unsigned q) { (void)d, (void)q; }

static const struct virtio_dev_ops test_ops = { .queue_work = no_work, .reset = dev_reset, .config_read = cfg_read };

#define B 0xd1000000ull
#define R(off) ((uint32_t)virtio_mmio_ops.read(&m, B + (off), 4))
#define W(off, v) virtio_mmio_ops.write(&m, B + (off), (v), 4)

static void test_virtio_mmio_registers(void)
{
	static struct virtio_dev d;
	static struct virtio_mmio m;
	static struct guest_mem mem;
	virtio_dev_init(&d, "vm0", VIRTIO_ID_BLOCK, (1ull << 9) | VIRTIO_F_RING_EVENT_IDX, 2, 128, &test_ops, &eng, &mem, NULL);
	memset(&m, 0, sizeof(m));
	m.vdev = &d;
	m.base = B;
	d.transport = &virtio_mmio_transport;
	d.transport_ctx = &m;

	CHECK_EQ(R(0x000), 0x74726976);
	CHECK_EQ(R(0x004), 2);
	CHECK_EQ(R(0x008), VIRTIO_ID_BLOCK);
	CHECK_EQ(R(0x00c), VMMIO_VENDOR);
	/* features 32 bits at a time; select 2+ reads 0 */
	W(0x014, 0);
	CHECK_EQ(R(0x010), (1u << 9) | (1u << 29));
	W(0x014, 1);
	CHECK_EQ(R(0x010), 1); /* VERSION_1 */
	W(0x014, 7);
	CHECK_EQ(R(0x010), 0);
	/* registers are 32-bit: other widths are ignored (and read 0) */
	CHECK_EQ(virtio_mmio_ops.read(&m, B, 2), 0);
	/* queues */
	W(0x030, 1);
	CHECK_EQ(R(0x034), 128);
	W(0x038, 0);   /* refused */
	W(0x038, 129); /* refused */
	CHECK_EQ(d.vqs[1].size, 128);
	W(0x038, 64);
	CHECK_EQ(d.vqs[1].size, 64);
	W(0x080, 0x1000);
	W(0x084, 0x2);
	W(0x090, 0x3000);
	W(0x0a0, 0x4000);
	W(0x0a4, 0x5);
	CHECK_EQ(d.vqs[1].desc_gpa, 0x200001000ull);
	CHECK_EQ(d.vqs[1].avail_gpa, 0x3000);
	CHECK_EQ(d.vqs[1].used_gpa, 0x500004000ull);
	CHECK_EQ(R(0x084), 2);
	CHECK_EQ(R(0x0a0), 0x4000);
	W(0x044, 1);
	CHECK_EQ(R(0x044), 1);
	CHECK(d.vqs[1].enabled);
	/* a queue that does not exist: reads 0, writes go nowhere */
	W(0x030, 0xffffffff);
	CHECK_EQ(R(0x034), 0);
	W(0x038, 16);
	W(0x080, 0xdead);
	W(0x044, 1);
	CHECK_EQ(R(0x044), 0);
	CHECK_EQ(R(0x080), 0);
	/* out-of-range notify values are dropped */
	W(0x050, 77);
	/* driver features: only what was offered survives FEATURES_OK */
	W(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	W(0x024, 0);
	W(0x020, 1u << 3); /* not offered */
	W(0x024, 1);
	W(0x020, 1);
	W(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(R(0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	W(0x024, 0);
	W(0x020, 1u << 9);
	W(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(R(0x070) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(d.guest_features, (1ull << 9) | VIRTIO_F_VERSION_1);
	/* and cannot change afterwards */
	W(0x020, 0);
	CHECK_EQ(d.guest_features, (1ull << 9) | VIRTIO_F_VERSION_1);
	/* device config from 0x100, any width */
	CHECK_EQ(virtio_mmio_ops.read(&m, B + 0x100, 1), 0x11);
	CHECK_EQ(virtio_mmio_ops.read(&m, B + 0x101, 2), 0x3322);
	CHECK_EQ(R(0x100), 0x44332211);
	/* no shared memory regions: length ~0 */
	CHECK_EQ(R(0x0b0), 0xffffffff);
	CHECK_EQ(R(0x0b4), 0xffffffff);
	/* interrupt status: ACK clears only the bits written */
	m.isr = VMMIO_INT_USED | VMMIO_INT_CONFIG;
	W(0x064, VMMIO_INT_USED);
	CHECK_EQ(R(0x060), VMMIO_INT_CONFIG);
	/* reset: status 0, features and queues cleared, interrupt status too */
	W(0x070, 0);
	CHECK_EQ(resets, 1);
	CHECK_EQ(R(0x070), 0);
	CHECK_EQ(R(0x060), 0);
	CHECK_EQ(d.guest_features, 0);
	W(0x030, 1);
	CHECK_EQ(R(0x044), 0);
	CHECK_EQ(d.vqs[1].size, 128);
	/* queue sizes must be powers of two (the rings wrap their 16-bit indices modulo size) */
	W(0x038, 100);
	CHECK_EQ(d.vqs[1].size, 128);
	W(0x038, 64);
	CHECK_EQ(d.vqs[1].size, 64);
	char line[64];
	virtio_mmio_cmdline(&(struct virtio_mmio){ .base = 0xd1002000, .gsi = 7 }, line, sizeof(line));
	CHECK(!strcmp(line, "virtio_mmio.device=4K@0xd1002000:7"));
}

/* ---- ACPI power registers ---- */
static void test_power_registers(void)
{
	struct vm *vm = new_vm();
	static struct power p;
	memset(&p, 0, sizeof(p));
	p.vm = vm;
	/* another sleep state, or S5 without SLP_EN: nothing happens */
	power_port_ops.write(&p, PORT_ACPI_SLEEP_CTL, 3 << 2 | ACPI_SLP_EN, 1);
	power_port_ops.write(&p, PORT_ACPI_SLEEP_CTL, ACPI_SLEEP_S5 << 2, 1);
	power_port_ops.write(&p, PORT_ACPI_RESET, 0x06, 1); /* not the FADT's reset value */
	CHECK(!vm_stopping(vm));
	CHECK_EQ(power_port_ops.read(&p, PORT_ACPI_SLEEP_STS, 1), 0);
	/* the reset value: a reboot */
	power_port_ops.write(&p, PORT_ACPI_RESET, ACPI_RESET_VALUE, 1);
	CHECK(vm_stopping(vm));
	CHECK_EQ(atomic_load(&vm->reboot), 1);
	CHECK_EQ(atomic_load(&vm->exit_code), 0);
	/* S5 + SLP_EN: power off, exit 0, no reboot */
	vm = new_vm();
	p.vm = vm;
	power_port_ops.write(&p, PORT_ACPI_SLEEP_CTL, ACPI_SLEEP_S5 << 2 | ACPI_SLP_EN, 1);
	CHECK(vm_stopping(vm));
	CHECK_EQ(atomic_load(&vm->reboot), 0);
	CHECK_EQ(atomic_load(&vm->exit_code), 0);
	/* a stop requested first wins over a later reboot */
	power_port_ops.write(&p, PORT_ACPI_RESET, ACPI_RESET_VALUE, 1);
	CHECK_EQ(atomic_load(&vm->reboot), 0);
	/* GED: events read once, then clear; other offsets and widths read 0 */
	p.ged_events = GED_EVENT_POWER_BUTTON;
	CHECK_EQ(power_ged_ops.read(&p, LAYOUT_GED + 4, 4), 0);
	CHECK_EQ(power_ged_ops.read(&p, LAYOUT_GED, 1), 0);
	CHECK_EQ(power_ged_ops.read(&p, LAYOUT_GED, 4), GED_EVENT_POWER_BUTTON);
	CHECK_EQ(power_ged_ops.read(&p, LAYOUT_GED, 4), 0);
	power_ged_ops.write(&p, LAYOUT_GED, 0xff, 4); /* read-only */
	CHECK_EQ(power_ged_ops.read(&p, LAYOUT_GED, 4), 0);
	free_vm(vm);
}

int main(void)
{
	struct engine_params ep = { .node = 0, .name = "rv-test" };
	log_init();
	log_set_level(LOG_ERROR);
	CPU_ZERO(&ep.cpus);
	CPU_ZERO(&ep.iowq_cpus);
	if (engine_init(&eng, &ep) < 0) {
		printf("FAIL setup: engine_init\n");
		return 1;
	}
	RUN(test_ecam);
	RUN(test_virtio_mmio_registers);
	RUN(test_power_registers);
	engine_destroy(&eng);
	CHECK_EXIT();
}
