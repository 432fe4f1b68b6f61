package scanner

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
)

// WriteDevices lists what a technician needs to configure a scanner, as
// `posagent devices` prints it: the USB HID devices (with the --hid
// selector of each) and the serial ports present, with their stable
// /dev/serial/by-id names and whether this process may open them.
func WriteDevices(out io.Writer) {
	fmt.Fprintln(out, "USB HID devices:")
	devs, err := usbhid.Enumerate()
	switch {
	case errors.Is(err, usbhid.ErrUnsupported):
		fmt.Fprintf(out, "  HID is unsupported in this build: %v\n", err)
	case err != nil:
		fmt.Fprintf(out, "  cannot list: %v\n", err)
	case len(devs) == 0:
		fmt.Fprintf(out, "  none found (%s is readable)\n", usbhid.USBRoot)
	}
	for _, d := range devs {
		fmt.Fprintf(out, "  %04x:%04x  interface %d  %q %q  path %s", d.VID, d.PID, d.Interface, d.Manufacturer, d.Product, d.Path)
		if d.Serial != "" {
			fmt.Fprintf(out, "  serial %q", d.Serial)
		}
		fmt.Fprintf(out, "\n    use: --hid %04x:%04x:%d\n", d.VID, d.PID, d.Interface)
	}

	fmt.Fprintln(out, "Serial ports:")
	ports := serial.ListPorts("/dev", "/sys")
	if len(ports) == 0 {
		fmt.Fprintln(out, "  none found (no /dev/ttyACM*, /dev/ttyUSB*, real /dev/ttyS* or /dev/serial/by-id)")
	}
	for _, p := range ports {
		access := "read-write ok"
		if err := serial.CheckAccess(p.Path); err != nil {
			access = "no access: " + err.Error()
		}
		fmt.Fprintf(out, "  %-16s %-10s %s\n", p.Path, p.Kind, access)
		if len(p.ByID) > 0 {
			fmt.Fprintf(out, "    by-id: %s\n", strings.Join(p.ByID, ", "))
		}
	}
}
