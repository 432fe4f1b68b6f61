// Package deb holds the test of the .deb packages scripts/package builds
// (nfpm.yaml, the maintainer scripts postinst, prerm and postrm): it
// installs one on this machine with dpkg, upgrades and removes it. There is
// no Go code to import here.
package deb
