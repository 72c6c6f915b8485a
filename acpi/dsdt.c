/* dsdt: the Differentiated System Description Table, in AML: the PCI host bridge (with
 * its windows and interrupt routing), the ECAM reservation, COM1, the virtio-mmio devices,
 * the Generic Event Device whose event 0 is the power button, and \_S5 for power off. */
#include "tables.h"

#include "kvm/power.h" /* the GED event bits the AML tests */

#include <stdio.h>


static void name_eisaid(struct aml *t, const char *name, const char *id)
{
	aml_name(t, name);
	aml_eisaid(t, id);
}

static void name_int(struct aml *t, const char *name, uint64_t v)
{
	aml_name(t, name);
	aml_int(t, v);
}

static void pci_host_bridge(struct aml *t, const struct acpi_machine *m)
{
	struct aml r;

	aml_device_begin(t, "PCI0");
	name_eisaid(t, "_HID", "PNP0A08");
	name_eisaid(t, "_CID", "PNP0A03");
	name_int(t, "_ADR", 0);
	name_int(t, "_SEG", 0);
	name_int(t, "_UID", 0);
	name_int(t, "_BBN", 0);
	aml_init(&r);
	aml_res_bus_numbers(&r, 0, 0);
	aml_res_io(&r, 0xcf8, 8);
	aml_res_io_window(&r, 0x0000, 0x0cf7);
	aml_res_io_window(&r, 0x0d00, 0xffff);
	aml_res_mem32_window(&r, (uint32_t)m->pci_mmio_start, (uint32_t)(m->pci_mmio_end - 1));
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	/* INTx of slot s, pin p (0 = INTA) on GSI 16 + (s + p) % 4: the usual swizzle. The
	 * devices here use MSI-X (their Interrupt Pin reads 0), so nothing is routed yet. */
	aml_name(t, "_PRT");
	aml_package_begin(t, 31 * 4);
	for (unsigned s = 1; s < 32; s++)
		for (unsigned p = 0; p < 4; p++) {
			aml_package_begin(t, 4);
			aml_int(t, (uint64_t)s << 16 | 0xffff);
			aml_int(t, p);
			aml_int(t, 0);
			aml_int(t, IRQ_PCI_INTX_FIRST + (s + p) % 4);
			aml_end(t);
		}
	aml_end(t);
	aml_end(t);
}

/* Motherboard resources: the ECAM window, so an OS sees it reserved. */
static void motherboard_resources(struct aml *t)
{
	struct aml r;
	aml_device_begin(t, "MRES");
	name_eisaid(t, "_HID", "PNP0C02");
	name_int(t, "_UID", 0);
	aml_init(&r);
	aml_res_memory32_fixed(&r, (uint32_t)LAYOUT_PCI_ECAM, (uint32_t)LAYOUT_PCI_ECAM_SIZE, false);
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	aml_end(t);
}

static void com1(struct aml *t)
{
	struct aml r;
	aml_device_begin(t, "COM1");
	name_eisaid(t, "_HID", "PNP0501");
	name_int(t, "_UID", 1);
	aml_init(&r);
	aml_res_io(&r, PORT_COM1, 8);
	aml_res_interrupt(&r, IRQ_COM1, false, false);
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	aml_end(t);
}

/* The CMOS clock. Without this a hardware-reduced machine has no RTC for Linux: its
 * legacy rtc_cmos platform device asks for IRQ 8, which no legacy PIC maps here, and the
 * probe fails (-EINVAL); described without an IRQ, rtc_cmos binds and runs without alarms. */
static void rtc(struct aml *t)
{
	struct aml r;
	aml_device_begin(t, "RTC0");
	name_eisaid(t, "_HID", "PNP0B00");
	aml_init(&r);
	aml_res_io(&r, PORT_RTC_INDEX, 2);
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	aml_end(t);
}

static void virtio_mmio(struct aml *t, unsigned i, const struct acpi_mmio_dev *d)
{
	struct aml r;
	char name[8];
	snprintf(name, sizeof(name), "VR%02u", i % 100); /* at most LAYOUT_VIRTIO_MMIO_MAX */
	aml_device_begin(t, name);
	aml_name(t, "_HID");
	aml_string(t, "LNRO0005");
	name_int(t, "_UID", i);
	name_int(t, "_CCA", 1); /* DMA is cache-coherent */
	aml_init(&r);
	aml_res_memory32_fixed(&r, (uint32_t)d->base, (uint32_t)d->size, true);
	aml_res_interrupt(&r, d->gsi, false, false);
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	aml_end(t);
}

/* The GED: an interrupt, and _EVT reading the event register (which clears it on read)
 * and notifying the device each set bit stands for. */
static void ged(struct aml *t)
{
	struct aml r;
	aml_device_begin(t, "GED0");
	aml_name(t, "_HID");
	aml_string(t, "ACPI0013");
	name_int(t, "_UID", 0);
	aml_init(&r);
	aml_res_interrupt(&r, IRQ_GED, false, false);
	aml_name(t, "_CRS");
	aml_restemplate(t, &r);
	aml_free(&r);
	aml_opregion(t, "GDST", AML_SYSTEM_MEMORY, LAYOUT_GED, 4);
	aml_field32(t, "GDST", "GDAT");
	aml_method_begin(t, "_EVT", 1, true);
	aml_store(t);
	aml_namestring(t, "GDAT");
	aml_local(t, 0);
	aml_if_begin(t);
	aml_and(t);
	aml_local(t, 0);
	aml_int(t, GED_EVENT_POWER_BUTTON);
	aml_null(t);
	aml_notify(t);
	aml_namestring(t, "\\_SB.PWRB");
	aml_int(t, 0x80); /* "button pressed" */
	aml_end(t);       /* If */
	aml_end(t);       /* _EVT */
	aml_end(t);

	aml_device_begin(t, "PWRB");
	name_eisaid(t, "_HID", "PNP0C0C");
	name_int(t, "_UID", 0);
	aml_end(t);
}

void acpi_build_dsdt(struct aml *t, const struct acpi_machine *m)
{
	acpi_header(t, "DSDT", 2); /* revision 2: 64-bit integers */
	aml_scope_begin(t, "\\_SB");
	pci_host_bridge(t, m);
	motherboard_resources(t);
	com1(t);
	rtc(t);
	for (unsigned i = 0; i < m->n_virtio_mmio; i++)
		virtio_mmio(t, i, &m->virtio_mmio[i]);
	ged(t);
	aml_end(t);
	/* \_S5: SLP_TYPa, SLP_TYPb for soft off */
	aml_name(t, "\\_S5");
	aml_package_begin(t, 2);
	aml_int(t, ACPI_SLEEP_S5);
	aml_int(t, 0);
	aml_end(t);
	acpi_finish(t);
}
