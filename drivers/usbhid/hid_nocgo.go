//go:build !(cgo && !android && !ios && (linux || darwin || windows || freebsd))

package usbhid

// Supported reports whether this build can talk to HID devices: never, here.
func Supported() bool { return false }

// Enumerate returns ErrUnsupported: this binary was built without cgo.
func Enumerate() ([]DeviceInfo, error) { return nil, ErrUnsupported }

// Open returns ErrUnsupported: this binary was built without cgo.
func Open(c Config) (*Device, error) { return nil, ErrUnsupported }
