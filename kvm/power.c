/* power: see power.h. */
#include "power.h"

#include "engine/log.h"
#include "layout.h"

#include <string.h>

static void port_write(void *dev, uint64_t port, uint64_t value, unsigned size)
{
	struct power *p = dev;
	(void)size;
	log_debug("power: port %#llx written: %#llx", (unsigned long long)port, (unsigned long long)value);
	if (port == PORT_ACPI_SLEEP_CTL && (value & ACPI_SLP_EN)) {
		unsigned typ = (unsigned)(value >> 2) & 7;
		if (typ == ACPI_SLEEP_S5) {
			if (p->vm)
				vm_request_stop(p->vm, VM_EXIT_OK, "the guest powered off (ACPI S5)");
		} else {
			log_warn("power: the guest asked for sleep state SLP_TYP=%u; only S5 (power off) exists", typ);
		}
	} else if (port == PORT_ACPI_RESET && (value & 0xff) == ACPI_RESET_VALUE) {
		if (p->vm)
			vm_request_reboot(p->vm, "the guest reset through the ACPI reset register");
	}
}

static uint64_t port_read(void *dev, uint64_t port, unsigned size)
{
	(void)dev, (void)port, (void)size;
	return 0; /* sleep status: never woken from a sleep state */
}

const struct bus_ops power_port_ops = { .write = port_write, .read = port_read };

static void ged_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	(void)dev, (void)addr, (void)value, (void)size; /* read-only */
}

static uint64_t ged_read(void *dev, uint64_t addr, unsigned size)
{
	struct power *p = dev;
	if (addr != LAYOUT_GED || size != 4)
		return 0;
	uint32_t v = p->ged_events;
	p->ged_events = 0;
	return v;
}

const struct bus_ops power_ged_ops = { .write = ged_write, .read = ged_read };

void power_button(struct power *p)
{
	p->ged_events |= GED_EVENT_POWER_BUTTON;
	log_info("power button pressed");
	irq_line_raise(&p->ged_irq);
}

int power_create(struct power *p, struct vm *vm, struct engine *e)
{
	int ret;
	memset(p, 0, sizeof(*p));
	p->ged_irq.fd = -1;
	p->vm = vm;
	if ((ret = bus_add(&vm->pio, PORT_ACPI_SLEEP_CTL, 3, &power_port_ops, p, e, "acpi-power")) < 0)
		return ret;
	if ((ret = bus_add(&vm->mmio, LAYOUT_GED, LAYOUT_GED_SIZE, &power_ged_ops, p, e, "acpi-ged")) < 0)
		return ret;
	return irq_line_init(&p->ged_irq, vm->kvm.vm_fd, IRQ_GED, e);
}

void power_destroy(struct power *p)
{
	if (p->vm && p->ged_irq.fd >= 0)
		irq_line_destroy(&p->ged_irq, p->vm->kvm.vm_fd);
	p->vm = NULL;
}
