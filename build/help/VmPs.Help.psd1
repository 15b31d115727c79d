# Source of the cmdlet help (MAML). build/New-ModuleHelp.ps1 turns it, with each cmdlet's real parameter
# sets, into module/VmPs.PowerShell.dll-Help.xml; a test checks that every cmdlet and parameter is covered.
# A parameter's default value is read from its text ("(default 30)"); Defaults gives those the text does not state.
@{
    'Get-VmHost' = @{
        Synopsis    = 'Reports what this host offers for running VMs.'
        Description = 'Lists the hypervisors found (Cloud Hypervisor, QEMU) with their versions, whether KVM can really run a guest (it boot-tests it; where it cannot, QEMU uses TCG), both guest kernels (VmPsKernel: the kernel Build-VmKernel built, with its source version and build date; DistroKernel: the host''s newest /boot/vmlinuz-VERSION with its /lib/modules) and which of them New-Vm uses by default (DefaultKernel: the VmPs kernel when built, else the distro kernel), the host tools VmPs uses (mkfs.erofs, mkfs.ext4, busybox), whether /dev/vhost-vsock exists, the state directory, the storage backend of new volumes (Storage), and the ingress''s settings (Ingress: the domain of the default NAME.DOMAIN routes, or none, and the ACME CA of -Tls Acme routes with its e-mail address, trusted root and challenges; Set-VmHost changes them). Anything missing is named with the package that provides it, in Problems.'
        Parameters  = @{}
        Examples    = @(
            @{ Code = 'Get-VmHost'; Remarks = 'Shows the report. Ready is true when nothing is missing.' }
            @{ Code = '(Get-VmHost).Problems'; Remarks = 'Lists only what to install or fix.' }
        )
    }
    'Set-VmHost' = @{
        Synopsis    = 'Sets where this host makes new volumes and VM disks (sparse files or an LVM thin pool), the ingress domain, or the ingress''s ACME CA.'
        Description = 'Sets the storage backend of new volumes, recorded in the state database and shown by Get-VmHost (Storage). File (the default) makes each volume a sparse file under the state directory. LvmThin makes each a thin volume of an existing LVM thin pool (-VolumeGroup, -ThinPool), which the VM gets as the block device /dev/VG/vmps-volume-ID: lvcreate --type thin makes it (formatted ext4 unless -Format Raw), lvextend --resizefs grows it (Resize-VmVolume), lvremove removes it (Remove-VmVolume). New VMs'' own disks go to the pool too: a thin volume vmps-vm-ID (a snapshot of the image''s base vmps-image-ID for a disk image, the base written by the first such VM), grown by Resize-VmDisk and removed by Remove-VmImage and Remove-Vm; such VMs cannot be checkpointed or copied, and take no -DiskFormat Qcow2 (StorageBackendNotSupported). Volumes and VM disks keep the backend they were made on: switching back to File changes only where new ones go. Every check runs before anything is recorded, and under -WhatIf too: LVM''s name rules for both names (InvalidLvmName: 1 to 127 characters of a-z A-Z 0-9 + _ . -, no leading hyphen, no reserved pool name), the kernel''s device-mapper (DeviceMapperUnavailable: /dev/mapper/control must exist and /sys/class/misc/device-mapper or /proc/misc must show the driver), the lvm2 programs (LvmToolsMissing names the Debian package lvm2), and that the pool is a thin pool (ThinPoolNotFound). A refused setting leaves the previous one in place. On LvmThin, Copy-VmVolume, -FromPath and -Format Qcow2 are refused (StorageBackendNotSupported). -IngressDomain instead gives every VM whose name is a DNS label a default ingress route NAME.DOMAIN (private, HTTPS with the ingress''s own CA, port 80 of the VM; a route of New-VmIngress with the same host name wins), served as the routes of New-VmIngress are; an empty domain removes the default routes. When Caddy refuses the routes (IngressPortInUse) the previous domain stays. -AcmeDirectory instead sets the ACME CA that routes with -Tls Acme get their certificates from (Let''s Encrypt''s https://acme-v02.api.letsencrypt.org/directory until set), with the account''s e-mail address (-AcmeEmail) and, for a private CA, the root certificate its own HTTPS is signed by (-AcmeRootCertificate) and the challenges Caddy answers for it (-AcmeChallenge: Http01 on port 80, TlsAlpn01 on port 443, or both, the default, when left out); each is checked first (InvalidAcmeDirectory: not an https:// URL; InvalidEmail; InvalidAcmeRootCertificate: no readable PEM certificate; InvalidAcmeChallenges: no challenge), and the routes are served again with the new CA (the previous settings stay when Caddy refuses). Outputs nothing unless -PassThru.'
        Parameters  = @{
            StorageBackend = 'File (default: sparse files in the state directory) or LvmThin (thin volumes of -ThinPool in -VolumeGroup).'
            VolumeGroup    = 'The LVM volume group that holds the thin pool (LvmThin only).'
            ThinPool       = 'The thin pool in -VolumeGroup that new volumes and VM disks are made in (LvmThin only); it must exist: lvcreate --type thin-pool makes one.'
            IngressDomain  = 'The domain of the VMs'' default ingress routes (NAME.DOMAIN), a DNS name without wildcards; an empty string removes them.'
            AcmeDirectory  = 'The https:// directory URL of the ACME CA that routes with -Tls Acme get their certificates from.'
            AcmeEmail      = 'The e-mail address of the ACME account; the CA sends its notices (expiry, problems) there. Optional.'
            AcmeRootCertificate = 'A PEM file with the root certificate to trust for the ACME server''s own HTTPS, for a private CA (such as pebble in tests); public CAs need none. Caddy reads it from this path whenever it talks to the CA.'
            AcmeChallenge       = 'The ACME challenges the ingress answers: Http01 (the CA fetches a token over HTTP on port 80), TlsAlpn01 (the CA connects to port 443; port 80 may stay closed), or both (Http01, TlsAlpn01: the default). The CA validates with one it offers of these.'
            PassThru       = 'Output the host object (VmPs.VmHost, as Get-VmHost outputs it) after the change.'
        }
        Examples    = @(
            @{ Code = 'Set-VmHost -IngressDomain vms.example.test'; Remarks = 'Every VM is now reachable at https://NAME.vms.example.test/ by its owner (with a token).' }
            @{ Code = 'Set-VmHost -AcmeDirectory https://acme-staging-v02.api.letsencrypt.org/directory -AcmeEmail ops@example.test'; Remarks = 'Routes with -Tls Acme get their certificates from Let''s Encrypt''s staging CA.' }
            @{ Code = 'Set-VmHost -AcmeDirectory https://acme-v02.api.letsencrypt.org/directory -AcmeChallenge TlsAlpn01'; Remarks = 'Certificates are validated on port 443 only, for a host whose port 80 is closed to the Internet.' }
            @{ Code = 'Set-VmHost -StorageBackend LvmThin -VolumeGroup vg0 -ThinPool pool -PassThru'; Remarks = 'Makes new volumes thin volumes of vg0/pool, and shows the host.' }
            @{ Code = 'Set-VmHost -StorageBackend LvmThin -VolumeGroup vg0 -ThinPool pool -WhatIf'; Remarks = 'Checks whether this host could use vg0/pool (device-mapper, lvm2, the pool) without changing anything.' }
            @{ Code = 'Set-VmHost -StorageBackend File'; Remarks = 'New volumes are sparse files again; existing thin volumes stay where they are.' }
        )
    }
    'Build-VmKernel' = @{
        Synopsis    = 'Builds the VmPs guest kernel.'
        Description = 'Builds a guest kernel with every driver a VmPs guest needs built in (virtio over MMIO and PCI, block, network, console, entropy and vsock, erofs with lz4, ext4, overlayfs, virtio-fs, the ACPI power button) and no modules, no legacy hardware, no sound, USB or graphics, from the host''s kernel source (Debian: apt-get install linux-source-6.1; the same source as the distro kernel). The configuration is allnoconfig with kernel/vmps.config (and -ConfigPath) merged over it; the build fails, naming them, if any of those settings does not survive. The compile runs at the lowest CPU priority and takes minutes (on a 2-core machine with other work, about half an hour); progress is shown with Write-Progress, and -AsJob runs it in the background. The result is cached under the state directory (kernels/SOURCEVERSION-CONFIGHASH: the bzImage, the uncompressed vmlinux that QEMU microvm and Cloud Hypervisor boot directly, and the .config), published by an atomic rename and made current: New-Vm gives it to new VMs (without -Kernel), whose initrd then carries no modules and whose init loads none. A cached build is reused unless -Force. A build that fails (missing packages, disk full, a compile error) or is interrupted leaves the previous kernel in use, says why, and keeps the build log (kernels/build.log); the next build removes what an interrupted one left. Outputs the kernel (VmPs.VmKernel), or a job with -AsJob.'
        Parameters  = @{
            SourcePath = 'Kernel source tarball (.tar.xz, .tar.bz2 or .tar.gz with one top-level directory). Default: the newest /usr/src/linux-source-*.tar.xz. Its Debian package version (or a hash of the file) is part of the cache key.'
            ConfigPath = 'Kernel config fragment (CONFIG_NAME=value and "# CONFIG_NAME is not set" lines) merged over kernel/vmps.config: its settings win. Its content is part of the cache key.'
            Force      = 'Build again even when a kernel of this source and config is cached.'
            AsJob      = 'Run the build as a background job (Get-Job, Receive-Job; Stop-Job cancels it and leaves the previous kernel in use). The job outputs the kernel.'
        }
        Examples    = @(
            @{ Code = 'Build-VmKernel'; Remarks = 'Builds the kernel from /usr/src/linux-source-6.1.tar.xz (or finds it cached) and makes it the default for new VMs.' }
            @{ Code = '$job = Build-VmKernel -AsJob; Receive-Job $job -Wait'; Remarks = 'Builds in the background, then waits for the kernel.' }
            @{ Code = 'Build-VmKernel -ConfigPath ./extra.config -WhatIf'; Remarks = 'Shows whether the kernel with these extra options is cached or would be built.' }
        )
    }
    'New-Vm' = @{
        Synopsis    = 'Creates a VM from an image.'
        Description = 'Creates a stopped VM: a state row, a VM directory with a sparse overlay disk, and its network and vsock identities. Start it with Start-Vm. A failure leaves nothing behind. With -FromCheckpoint VM/CHECKPOINT (or a checkpoint object piped in, as Get-VmCheckpoint outputs it) the VM is a fork of that checkpoint instead: it takes the source VM''s image, CPUs, memory, kernel and network (with an address and MAC of its own), its disk is a copy of the checkpoint''s, and, when the checkpoint has memory, it is Saved in the checkpoint''s state (hard links to the checkpoint''s files, which stay while a fork still needs them). Start-Vm then resumes the checkpoint''s guest, and before anything else its agent sets the fork''s own hostname, machine-id, MAC and address, reseeds the kernel''s RNG with fresh host randomness and syncs the clock. Forking a checkpoint with memory works on QEMU and on Cloud Hypervisor, whose forks are restored as themselves from the checkpoint''s one memory file, read on demand; a checkpoint whose state files are missing or cut short, and one taken with volumes attached, are refused (CheckpointNotForkable) and no VM is made; the state''s digests are checked by the fork''s Start-Vm, as for every restore, which refuses a state changed in place (SavedStateInvalid) and leaves the fork Saved. With -IsoPath the VM is an ISO install: it boots the ISO (an installer) from a read-only CD-ROM drive ahead of a blank disk of -DiskSizeGB, on QEMU q35 through OVMF (or SeaBIOS with -Firmware Bios), so the installer can write that disk; Enter-Vm -Console is its terminal, and once the install is done and the VM stopped, New-VmImage -FromVm makes its disk an image for new VMs.'
        Parameters  = @{
            Owner = 'The VmPs user who owns the VM (see New-VmUser); without it, the administrator (root in pwsh). The VM must fit the owner''s quota (Set-VmQuota): MaxVms and MaxDiskGiB here, MaxCpus and MaxMemoryMiB when it starts; a fork (-FromCheckpoint, Copy-Vm) keeps its source''s owner and counts against that quota. Also taken from an Owner column of a row.'
            Name       = 'Name of the VM: unique on this host.'
            Image      = 'Image to boot. The default, busybox, is built locally from the host''s busybox-static. Also taken from the pipeline as an image object (Get-VmImage) or as an Image column of a row.'
            Cpus       = 'Number of virtual CPUs (default 1).'
            MemoryMB   = 'Memory in MiB (default 512).'
            Hypervisor = 'Auto (default: Cloud Hypervisor when installed and KVM works, else QEMU), CloudHypervisor or Qemu.'
            Kernel     = 'Kernel image to boot instead of the default kernel (the VmPs kernel when Build-VmKernel built one, else the host''s distro kernel; see Get-VmHost). Relative paths are relative to the current location.'
            DiskSizeGB = 'Size of the writable overlay disk in GiB (sparse; default 4). For a disk image (New-VmImage -Path), the size of the VM''s whole disk, a copy-on-write qcow2 overlay over the image: at least the image''s disk (DiskSmallerThanImage otherwise); the guest''s cloud-init grows its root partition into it.'
            UserData   = 'User data: the path of a file, or the text itself. At most 16 KiB, as on EC2 (UserDataTooLarge). Every VM''s metadata service serves it as given at http://169.254.169.254/latest/user-data. A disk image VM''s cloud-init also runs it, so there it must be a cloud-config or a script starting with #! (UserDataInvalid); it goes on the VM''s NoCloud seed disk (label cidata) as a MIME multipart with VmPs''s own part, which adds -SshPublicKey''s keys.'
            SshPublicKey = 'OpenSSH public key lines (repeatable). Every VM''s metadata service serves them as public-keys/N/openssh-key; cloud-init puts them in a disk image VM''s default user''s authorized_keys.'
            MetadataOptions = 'EC2''s instance metadata options as a hashtable. HttpTokens = ''required'' makes the VM''s metadata service (169.254.169.254) answer a GET without an IMDSv2 token (PUT /latest/api/token) with 401, as EC2 does; ''optional'' (the default) serves IMDSv1 too. Any other key is refused (MetadataOptionsInvalid). Set-Vm changes it later.'
            DiskFormat = 'The container of the VM''s own disk: Raw (the default, a sparse file) or Qcow2 (made by qemu-img from qemu-utils; the hypervisor must take qcow2 disks). Resize-VmDisk grows a qcow2 disk with qemu-img and the guest grows its filesystem at the next boot. Checkpoint-Vm on a file system without reflink moves the disk onto a qcow2 file over the frozen checkpoint, so Get-Vm may show DiskFormat Qcow2 afterwards.'
            MachineType = 'The QEMU machine (choosing QEMU): Q35, a PC with PCIe whose spare root ports take disks while the VM runs (Mount-VmVolume and Dismount-VmVolume on a running VM), or Microvm (the default: virtio-mmio, the fastest boot, devices fixed at launch; a running VM''s volumes change only after Stop-Vm). Cloud Hypervisor has one machine, which hot-plugs; it refuses -MachineType. Stored with the VM and in its spec.'
            InitMode   = 'Systemd or Exec, instead of the image''s init mode. Systemd: the guest init prepares the root, installs the agent as vmps-agent.service and hands PID 1 to the image''s /sbin/init. Exec: the guest init stays PID 1 and runs the image''s command. Stored with the VM.'
            Network    = 'VmPs network for the VM''s adapter (see Get-VmNetwork). Without -Network, -IPAddress, -Publish and -MaxBandwidthMbps the VM has no network; with any of them and no -Network the adapter goes on the default network (10.100.0.0/16, NAT), created on first use.'
            IPAddress  = 'Static IPv4 address in the network''s subnet (default: the next free address; never the gateway, network or broadcast address).'
            Publish    = 'Ports to publish from the host to the VM: HOSTPORT:VMPORT or HOSTADDRESS:HOSTPORT:VMPORT, optionally with /tcp (default) or /udp, for example 8080:80 or 127.0.0.1:5353:53/udp. A published port answers on every host address (127.0.0.1 and the gateway included) unless HOSTADDRESS is given.'
            MaxBandwidthMbps = 'Bandwidth limit of the VM''s adapter in Mbit/s (tc); default: none.'
            Volume     = 'Volumes to attach, as NAME:/guest/path or NAME:/guest/path:ro (repeatable; see Mount-VmVolume). The guest mounts them before the image''s command starts. A writable volume is attached to one VM at a time.'
            Share      = 'Host directories the guest sees through virtio-fs, as /host/dir:/guest/dir or /host/dir:/guest/dir:ro (repeatable; a relative host path is relative to the current location). Checked before anything is made: the host path must be an existing directory (ShareHostPathNotFound, ShareHostPathNotDirectory), the guest path absolute and outside /proc, /sys and /dev (InvalidMountPath, ReservedMountPath) and used by no other share or volume (DuplicateMountPath). Start-Vm runs a virtiofsd per share beside the hypervisor (stopped with the VM; QEMU backs guest memory with a shared memfd) and the guest mounts each share before the image''s command starts; changes on either side are seen on the other at once. A :ro share is read-only in the guest and on the host (virtiofsd runs on a read-only bind). A running VM with shares cannot be saved (Save-Vm) or checkpointed with its memory (VmSharesNotSavable): stop it first. Not for disk image VMs.'
            AsJob      = 'Create in the background and return a job at once, with one child job per VM (the disk made, or with -FromCheckpoint copied, in the job); Receive-Job returns the new VM.'
            FromCheckpoint = 'The checkpoint to fork, as VM/CHECKPOINT.'
            IsoPath    = 'An ISO 9660 image (an operating system''s installer) to install from; a relative path is relative to the current location. The VM boots it from a read-only CD-ROM drive before its disk (the ISO is never written), and its disk starts blank: a copy-on-write qcow2 overlay of -DiskSizeGB over the built-in image blank-uefi or blank-bios (a 1 MiB raw disk of zeros, made the first time it is needed; Get-VmImage lists it, Get-Vm shows it as the VM''s Image and the ISO as IsoPath). Checked before anything is made: a path that does not exist (IsoNotFound), a directory (IsoPathIsDirectory), a file without ISO 9660 volume descriptors (IsoNotIso9660) or one that cannot be read (IsoNotReadable); -Image with it is refused (IsoPathWithImage). Needs QEMU (Cloud Hypervisor has no CD-ROM drive). Start-Vm does not wait for an agent, as an installer runs none: Get-Vm''s StatusDetail says so. The VM keeps the ISO in its drive at every start, checked again each time.'
            Firmware   = 'The firmware an ISO install boots through: Uefi (default; OVMF) or Bios (SeaBIOS). Only with -IsoPath (FirmwareNeedsIsoPath otherwise): a disk image boots through the firmware New-VmImage recorded for it.'
            Checkpoint     = 'A checkpoint object to fork, as Get-VmCheckpoint outputs it (from the pipeline).'
        }
        Defaults    = @{ Image = 'busybox'; DiskSizeGB = '4'; Publish = 'None'; Hypervisor = 'Auto: Cloud Hypervisor when installed and KVM works, else QEMU'; InitMode = 'the image''s'; UserData = 'None'; SshPublicKey = 'None'; MetadataOptions = '@{ HttpTokens = ''optional'' }'; Firmware = 'Uefi' }
        Examples    = @(
            @{ Code = 'New-Vm -Name inst -IsoPath ./debian-12-netinst.iso -DiskSizeGB 20 | Start-Vm; Enter-Vm inst -Console'; Remarks = 'Boots an installer ISO through UEFI ahead of a blank 20 GiB disk and attaches the terminal to its serial console (Ctrl+] detaches). After the install: Stop-Vm inst; New-VmImage -FromVm inst -Name debian-installed.' }
            @{ Code = 'New-Vm -Name web2 -FromCheckpoint web/warm; Start-Vm web2'; Remarks = 'Forks the checkpoint warm of the VM web and resumes the fork from its memory, with an identity of its own.' }
            @{ Code = 'Get-VmCheckpoint -VmName web -Name warm | New-Vm -Name web3'; Remarks = 'Forks a checkpoint piped in.' }
            @{ Code = 'New-Vm -Name web -Image busybox -Cpus 2 -MemoryMB 256'; Remarks = 'Creates a VM with two vCPUs and 256 MiB.' }
            @{ Code = 'Get-VmImage alpine:3.20 | New-Vm -Name web'; Remarks = 'Creates the VM web from the piped image (its Name is the image, never the VM''s name).' }
            @{ Code = 'Import-Csv vms.csv | New-Vm'; Remarks = 'Creates one VM per row; the columns Name, Image, Cpus and MemoryMB bind by name.' }
            @{ Code = 'New-Vm -Name web -Volume data:/srv/data -Volume assets:/assets:ro'; Remarks = 'Creates a VM that mounts the volume data writable at /srv/data and assets read-only at /assets.' }
            @{ Code = 'New-Vm -Name db -MachineType Q35 | Start-Vm; Mount-VmVolume -VmName db -Name data -Path /srv/data'; Remarks = 'Creates a QEMU q35 VM, boots it and plugs the volume data into it while it runs; the guest mounts it at /srv/data.' }
            @{ Code = 'New-Vm -Name web -Network default -Publish 8080:80 | Start-Vm -PassThru'; Remarks = 'Creates a VM on the default network with its port 80 published as port 8080 of the host, and boots it. Get-Vm shows its IPAddress.' }
            @{ Code = 'New-VmImage -Path debian-12-genericcloud-amd64.qcow2 -Name debian; New-Vm -Name cloud -Image debian -DiskSizeGB 10 -Network default -UserData ./init.yaml -SshPublicKey (Get-Content ~/.ssh/id_ed25519.pub)'; Remarks = 'Creates a full VM from a cloud image: a 10 GiB copy-on-write disk booted on q35 through OVMF, configured by cloud-init from its seed disk (hostname, the network''s address, the user data and the SSH key).' }
        )
    }
    'New-VmVolume' = @{
        Synopsis    = 'Creates a volume: a persistent disk that VMs attach by name.'
        Description = 'Creates a sparse volume file (0600, under the state directory''s volumes/) that outlives VMs. Ext4 (default): an ext4 filesystem in a raw file, which the guest mounts at the attachment''s path. Qcow2: the same filesystem in a qcow2 image (qemu-utils). Raw: an unformatted disk, whose block device the guest links at the attachment''s path. With -FromPath an Ext4 or Qcow2 volume starts with the content of a directory, or of a .tar, .tar.gz or .tgz archive (read through the bounded tar reader into a private staging directory: no entry can land outside it, device nodes and hard links are refused); the filesystem is built with mkfs.ext4 -d, without loop mounts, owners and modes kept. A size smaller than the content fails with VolumeTooSmall. A failure, or a session killed while building, leaves nothing behind (the next volume command removes what a killed one left). Outputs the volume (VmPs.VmVolume), or a job with -AsJob.'
        Parameters  = @{
            Owner = 'The VmPs user who owns the volume (see New-VmUser); without it, the administrator. Its full size counts against the owner''s MaxDiskGiB quota.'
            Name     = 'Name of the volume: unique on this host; letters, digits, ''-'', ''_'' and ''.''.'
            SizeGB   = 'Size the guest sees, in GiB (sparse: only written blocks use host disk).'
            Format   = 'Ext4 (default), Qcow2 or Raw.'
            FromPath = 'A directory, or a .tar, .tar.gz or .tgz archive, whose content the volume starts with (Ext4 and Qcow2 only). Relative paths are relative to the current location.'
            AsJob    = 'Build the volume in a background job (Get-Job, Receive-Job); the job outputs the volume.'
        }
        Examples    = @(
            @{ Code = 'New-VmVolume -Name data -SizeGB 10'; Remarks = 'Creates an empty 10 GiB ext4 volume.' }
            @{ Code = 'New-VmVolume -Name site -SizeGB 1 -FromPath ./public'; Remarks = 'Creates a volume holding the files of ./public.' }
            @{ Code = 'New-VmVolume -Name db -SizeGB 20 -Format Qcow2 -FromPath ./seed.tar.gz -AsJob'; Remarks = 'Builds a qcow2 volume from an archive in the background.' }
        )
    }
    'Get-VmVolume' = @{
        Synopsis    = 'Gets volumes.'
        Description = 'Gets every volume, or those named (wildcards allowed), or those attached to a VM (-VmName): Name, SizeBytes, AllocatedBytes (host blocks the file really uses; for a thin volume of the LvmThin backend, its share of the pool as lvs reports it; 0 while it is inactive or when lvs fails, so one figure never fails the listing), Format, DiskFormat (the file: Raw, or Qcow2 for Qcow2 volumes and for volumes that share a frozen base after Copy-VmVolume), BackingFile, AttachedTo (VM names) and Attachments (VM, guest path, read-only). A name without wildcards that matches no volume is an error (VolumeNotFound).'
        Parameters  = @{
            Name   = 'Names of the volumes; wildcards allowed. Also taken from the pipeline.'
            VmName = 'Only volumes attached to this VM (wildcards allowed).'
        }
        Examples    = @(
            @{ Code = 'Get-VmVolume'; Remarks = 'Lists every volume.' }
            @{ Code = 'Get-VmVolume -VmName web | Format-List'; Remarks = 'Shows the volumes of VM web with their attachments.' }
        )
    }
    'Remove-VmVolume' = @{
        Synopsis    = 'Deletes volumes and their files.'
        Description = 'Deletes each volume''s file (or thin volume: lvremove) and then its record; a frozen base that no volume uses any more goes too. When the deletion fails the volume is kept as it was, still listed and attachable, and the error (VolumeRemoveFailed) carries the cause. A volume attached to a VM is refused (VolumeAttached) unless -Force, which first detaches it from the VMs that have it: running ones unmount it lazily and have its disk unplugged where their hypervisor can hot-plug (elsewhere: stop the VM first). Asks for confirmation (ConfirmImpact High); -Confirm:$false does not ask.'
        Parameters  = @{
            Name        = 'Names of the volumes; wildcards allowed.'
            InputObject = 'Volume objects, as Get-VmVolume outputs them.'
            Force       = 'Detach the volume from the VMs that have it first (unplugging it from running ones where their hypervisor can).'
        }
        Examples    = @(
            @{ Code = 'Remove-VmVolume data -Confirm:$false'; Remarks = 'Deletes the volume data.' }
            @{ Code = 'Get-VmVolume tmp-* | Remove-VmVolume -Force -Confirm:$false'; Remarks = 'Deletes every tmp-* volume, detaching them from stopped VMs.' }
        )
    }
    'Copy-VmVolume' = @{
        Synopsis    = 'Copies a volume, copy-on-write where the host allows.'
        Description = 'Makes a new volume with the source''s content. Where the file system shares blocks (XFS, btrfs) the copy is a reflink: instant, and it uses no space until either volume is written. Elsewhere (with qemu-img) the source''s file is frozen into a read-only base under volumes/bases/ and both volumes become qcow2 files over it: just as instant, each then stores only what it writes; the base is deleted with the last volume using it. Only where neither works is the data copied in full, with a warning. -Verbose says which. The source must not be attached writable to a running VM (VolumeInUse: stop the VM first); no VM can start with it while it is copied.'
        Parameters  = @{
            Name        = 'The volume to copy.'
            InputObject = 'The volume to copy, as Get-VmVolume outputs it.'
            Destination = 'Name of the new volume.'
            PassThru    = 'Output the new volume.'
            AsJob = 'Copy in the background and return a job at once; Receive-Job returns the new volume (with PassThru), and the job''s Verbose and Warning streams say how it was copied.'
        }
        Examples    = @(
            @{ Code = 'Copy-VmVolume -Name data -Destination data-test -PassThru'; Remarks = 'Copies data as data-test and shows it; AllocatedBytes of the copy stays near zero.' }
        )
    }
    'Resize-VmVolume' = @{
        Synopsis    = 'Grows volumes and their filesystems.'
        Description = 'Grows each volume to -SizeGB: a raw file is extended (sparse) and its ext4 filesystem checked (e2fsck -f -p) and grown (resize2fs); a qcow2 file is grown with qemu-img. A smaller size is refused (VolumeShrinkNotSupported); the same size changes nothing. A volume attached to a running VM is refused (VolumeInUse: stop the VM first).'
        Parameters  = @{
            Name        = 'Names of the volumes; wildcards allowed.'
            InputObject = 'Volume objects, as Get-VmVolume outputs them.'
            SizeGB      = 'New size in GiB.'
            PassThru    = 'Output the resized volumes.'
            AsJob = 'Resize in the background and return a job at once, with one child job per volume; Receive-Job returns the volumes (with PassThru).'
        }
        Examples    = @(
            @{ Code = 'Resize-VmVolume data -SizeGB 20 -PassThru'; Remarks = 'Grows data to 20 GiB.' }
        )
    }
    'Mount-VmVolume' = @{
        Synopsis    = 'Attaches a volume to a VM at a guest path.'
        Description = 'Attaches the volume to a stopped VM; at boot the guest init finds it by its disk serial and mounts it at -Path (an ext4 volume; a Raw one is linked there as a block device) before the image''s command or systemd starts. A writable volume is attached to one VM at a time, a read-only one (-ReadOnly: the guest mounts it read-only without replaying its journal) to any number of VMs; the check and the attachment are one database transaction, so two sessions cannot both win. The path must be absolute and may not shadow /, /proc, /sys or /dev. On a running VM the disk is hot-plugged and the agent mounts it at once, where the VM''s hypervisor can hot-plug disks (Cloud Hypervisor; QEMU with the q35 machine, which has four spare PCIe slots); elsewhere (QEMU microvm) the error (HypervisorFeatureNotSupported) says to stop the VM first. A hot-plug that fails at any step is undone.'
        Parameters  = @{
            VmName      = 'The VM.'
            InputObject = 'The VM, as Get-Vm outputs it.'
            Name        = 'The volume.'
            Path        = 'Where the guest mounts it, for example /srv/data.'
            ReadOnly    = 'Attach it read-only.'
            PassThru    = 'Output the volume.'
        }
        Examples    = @(
            @{ Code = 'Mount-VmVolume -VmName web -Name data -Path /srv/data'; Remarks = 'The VM web mounts data at /srv/data from its next boot.' }
            @{ Code = 'Get-Vm worker-* | Mount-VmVolume -Name assets -Path /assets -ReadOnly'; Remarks = 'Shares the volume assets read-only with every worker VM.' }
        )
    }
    'Resize-VmDisk' = @{
        Synopsis    = 'Grows the writable disk of stopped VMs.'
        Description = 'Grows each VM''s own writable disk (the sparse overlay New-Vm -DiskSizeGB sized) and the ext4 filesystem on it: e2fsck, then resize2fs on the file, with no loop device; the guest sees the room at its next boot. A qcow2 disk grows with qemu-img resize and a disk on the LvmThin storage backend with lvextend (--resizefs for a direct boot''s ext4); a disk image''s partitions are the guest''s, which cloud-init grows at its next boot. The VM must be stopped (VmDiskResizeNeedsStoppedVm: stop the VM first), and Start-Vm waits while a resize runs. Disks only grow (VmDiskShrinkNotSupported). Get-Vm shows DiskSizeGiB and DiskAllocatedBytes, the host blocks the disk really uses (for a thin disk, its share of the pool as lvs reports it; 0 when lvs cannot tell).'
        Parameters  = @{
            Name        = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            SizeGB      = 'The new size in GiB (1 to 8192), at least the current one.'
            PassThru    = 'Output the VM.'
            AsJob = 'Resize in the background and return a job at once, with one child job per VM; Receive-Job returns the VMs (with PassThru).'
        }
        Examples    = @(
            @{ Code = 'Stop-Vm web; Resize-VmDisk web -SizeGB 20; Start-Vm web'; Remarks = 'Gives the VM web a 20 GiB disk.' }
            @{ Code = 'Get-Vm | Sort-Object DiskAllocatedBytes -Descending | Select-Object Name, DiskSizeGiB, DiskAllocatedBytes'; Remarks = 'Shows which VMs'' disks use the most host space.' }
        )
    }
    'Dismount-VmVolume' = @{
        Synopsis    = 'Detaches a volume from a VM.'
        Description = 'Detaches the volume from a VM; the volume and its data stay, ready to attach elsewhere. On a running VM the guest unmounts it and its disk is unplugged, where the hypervisor can hot-plug disks (elsewhere the error says to stop the VM first). While files on the volume are open in the guest, or a process works in it, the unmount is refused (GuestVolumeBusy) and the volume stays attached; -Force unmounts it lazily and unplugs it anyway. VolumeNotAttached when the VM does not have it.'
        Parameters  = @{
            VmName      = 'The VM.'
            InputObject = 'The VM, as Get-Vm outputs it.'
            Name        = 'The volume.'
            Force       = 'Detach from a running VM even while the volume is in use in the guest: a lazy unmount, then the unplug (programs still using it get I/O errors).'
            PassThru    = 'Output the volume.'
        }
        Examples    = @(
            @{ Code = 'Dismount-VmVolume -VmName web -Name data'; Remarks = 'Detaches data from web (unplugging it if web runs).' }
            @{ Code = 'Dismount-VmVolume -VmName web -Name scratch -Force'; Remarks = 'Unplugs scratch from the running VM web even though a program still has files open on it.' }
        )
    }
    'Get-VmNetworkAdapter' = @{
        Synopsis    = 'Gets the network adapters of VMs.'
        Description = 'Gets the network adapter of each VM (every VM when no name is given): its network, IPv4 address and prefix, gateway, DNS servers, MTU, MAC address, the host TAP interface it is plugged into (Plugged is true while the VM runs), its bandwidth limit, and Status: the TAP as found on the host. Connected: on its bridge with the hypervisor attached. Unplugged: the VM is not running and has no TAP. Degraded: the hypervisor is attached but the TAP is off its bridge, down, or has the wrong MTU or isolation (Repair-VmNetwork fixes it). Detached: the TAP is missing or no hypervisor is attached to it, so the VM has no network (while it starts, after its hypervisor died, or after the TAP was deleted under it); a running VM gets it back by restarting, and Repair-VmNetwork removes the TAP of a VM that is not running. Leftover: the VM is not running but its TAP is still there (Repair-VmNetwork deletes it). Reading changes nothing on the host. A VM without a network outputs nothing; a name without wildcards that matches no VM is an error (VmNotFound).'
        Parameters  = @{
            VmName      = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm and New-Vm output them.'
        }
        Examples    = @(
            @{ Code = 'Get-VmNetworkAdapter'; Remarks = 'Lists the adapters of every VM.' }
            @{ Code = 'Get-Vm web | Get-VmNetworkAdapter | Select-Object Tap, MacAddress, IPAddress, Network'; Remarks = 'Shows where the VM web is plugged in.' }
            @{ Code = 'Get-VmNetworkAdapter | Where-Object Status -ne Connected | Where-Object Status -ne Unplugged'; Remarks = 'Lists the adapters whose TAP is not as it should be.' }
        )
    }
    'Get-VmLog' = @{
        Synopsis    = 'Gets a VM''s console, init, app or hypervisor log.'
        Description = 'Reads the log of the VM''s last boot from its directory, while it runs and after it stopped. Console (default): the guest''s kernel console. Init: the guest init''s structured records (VmPs.InitLogRecord objects with Time, Level, Phase, Message and Error), one per boot step. App: the stdout and stderr of the image''s command, apart from the console. Hypervisor: the hypervisor process''s own output. Console, App and Hypervisor are output as lines of text. With -Wait the cmdlet keeps outputting new lines until Ctrl+C or until the VM stops (a VM that is not running returns what its log holds and ends). Logs hold what the guest writes, so they are read as untrusted: a chunk at a time, -Tail from the end of the file (a tail of a large log reads only its end), invalid UTF-8 as replacement characters, a line longer than 1 MiB in pieces of that size, and terminal control characters (escape sequences, control characters other than the tab) removed unless -Raw.'
        Parameters  = @{
            Name        = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Source      = 'Which log: Console (default), Init, App or Hypervisor.'
            Tail        = 'Only the last N lines (records for Init) of what the log holds now; then, with -Wait, everything new.'
            Wait        = 'Follow the log: keep outputting new lines until Ctrl+C or until the VM stops.'
            Raw         = 'Output the lines exactly as the guest wrote them, terminal escape sequences and control characters included (by default they are removed, so a guest cannot drive your terminal).'
        }
        Examples    = @(
            @{ Code = 'Get-VmLog web -Source Init | Where-Object Level -ne info'; Remarks = 'Shows the init''s warnings and errors of the VM web''s last boot.' }
            @{ Code = 'Get-VmLog web -Source App -Tail 20 -Wait'; Remarks = 'Shows the last 20 lines of the app''s output, then follows it until Ctrl+C or until the VM stops.' }
        )
    }
    'Get-Vm' = @{
        Synopsis    = 'Gets VMs with their live state.'
        Description = 'Gets all VMs, those named, those on a network (-Network, or networks piped in: Get-VmNetwork lab | Get-Vm) or those made from an image (-Image, or images piped in). State is reconciled with the running hypervisor processes on every call, so a VM started from another session shows as Running, and one whose hypervisor died shows as Crashed with the end of its console log in StatusDetail. Network and IPAddress show where the VM''s network adapter is (empty for a VM without a network; see Get-VmNetworkAdapter). IdleTime (running VMs only; null otherwise) is the time since the VM''s last exec, file operation (Invoke-VmCommand, Copy-VmFile, Enter-Vm) or network packet, or since it started when later; LastActivityAt is when that was. Both are kept in the state database, so every session sees them. Packets are counted on the VM''s TAP and noticed when a command reads the VM (Get-Vm among them) and finds the count changed since the last read: a packet counts as of that read.'
        Parameters  = @{
            Name    = 'Names of the VMs; wildcards allowed. A name without wildcards that matches no VM is an error (VmNotFound). Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column.'
            Network = 'The VMs whose network adapter is on these networks; wildcards allowed. Also taken from the pipeline as network objects (Get-VmNetwork).'
            Image   = 'The VMs made from these images; wildcards allowed. Also taken from the pipeline as image objects (Get-VmImage).'
        }
        Examples    = @(
            @{ Code = 'Get-Vm'; Remarks = 'Lists every VM.' }
            @{ Code = 'Get-Vm web* | Where-Object State -eq Running'; Remarks = 'The running VMs whose names start with web.' }
            @{ Code = 'Get-VmNetwork lab | Get-Vm'; Remarks = 'The VMs on the network lab (a network piped in never stands for a VM named like it).' }
            @{ Code = 'Get-Vm | Where-Object IdleTime -gt ''00:15:00'' | Save-Vm'; Remarks = 'Puts every VM idle for more than 15 minutes in standby (a scheduled maintenance job).' }
        )
    }
    'Start-Vm' = @{
        Synopsis    = 'Boots VMs, or resumes saved ones.'
        Description = 'Starts the hypervisor of each VM detached from this session, so the VM keeps running after pwsh exits, and waits until the guest agent answers. A Saved VM (Save-Vm) is not booted: its saved memory and device state are checked against their manifest (the SHA-256 and size of each state file, and the VM''s hardware, disks and boot files) and restored, so its programs run on from where they were, and the guest clock is set to the host''s. A saved state that is truncated, changed or made for other hardware is refused (SavedStateInvalid) and the VM stays Saved; Force discards it and boots afresh. Once a restored guest runs, its saved state is deleted (its disk has moved on). A VM of a disk image (New-VmImage -Path) gets the agent from cloud-init, which starts it from the VM''s seed disk at every boot: Start-Vm waits for it as for any VM; when the guest reaches its login prompt with no sign of cloud-init on its console (an image without cloud-init, or with it disabled), or the timeout passes, Start-Vm returns with the VM running, writes a warning that says why it has no agent, and keeps that reason in the VM''s StatusDetail (console and network only until an agent answers). Progress is shown with Write-Progress; Ctrl+C stops the boot and leaves no hypervisor running.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm and New-Vm output them.'
            NoWait     = 'Return once the hypervisor runs, without waiting for the guest agent.'
            TimeoutSec = 'How long to wait for the guest agent (default 120).'
            PassThru   = 'Output the started VM.'
            AsJob      = 'Boot in the background and return a job at once, with one child job per VM; Receive-Job returns the started VMs (with PassThru), errors and, with -Verbose, the boot steps and their times.'
            Force      = 'For a Saved VM: delete its saved state (what was in its memory is lost; its disk is kept) and boot it afresh.'
        }
        Examples    = @(
            @{ Code = 'New-Vm -Name demo | Start-Vm -PassThru | Invoke-VmCommand -Command uname, -r'; Remarks = 'Creates, boots and runs a command.' }
            @{ Code = '$job = Get-Vm web* | Start-Vm -AsJob -PassThru; $job | Wait-Job | Receive-Job'; Remarks = 'Boots the VMs whose names start with web in the background, then collects them.' }
            @{ Code = 'Start-Vm web -Verbose'; Remarks = 'Boots the VM web and reports each step (hypervisor, kernel, agent) with the time it took.' }
            @{ Code = 'Start-Vm web -Force'; Remarks = 'Boots the Saved VM web afresh, discarding its saved state (for one refused as SavedStateInvalid).' }
        )
    }
    'Suspend-Vm' = @{
        Synopsis    = 'Pauses VMs.'
        Description = 'Stops the vCPUs of each running VM, as Hyper-V''s Suspend-VM does: the hypervisor keeps its memory and devices, the VM''s State becomes Paused and its programs stand still until Resume-Vm. Invoke-VmCommand, Copy-VmFile and Enter-Vm on a paused VM fail at once with VmPaused. A paused VM can be saved (Save-Vm) or stopped (Stop-Vm resumes it first so that the guest can shut down). A VM that is not running fails with VmNotRunning, under -WhatIf too; a driver that cannot pause fails with HypervisorFeatureNotSupported.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column; another kind of object is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            PassThru   = 'Output the paused VM.'
        }
        Examples    = @(
            @{ Code = 'Suspend-Vm web; Resume-Vm web'; Remarks = 'Pauses the VM web and lets it run on.' }
        )
    }
    'Resume-Vm' = @{
        Synopsis    = 'Resumes paused VMs.'
        Description = 'Continues the vCPUs of each paused VM, as Hyper-V''s Resume-VM does (State Running again), then sets the guest clock to the host''s through the agent, since it stood still while paused. A VM that is not paused fails with VmNotPaused, under -WhatIf too. A Saved VM is resumed with Start-Vm.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column; another kind of object is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            PassThru   = 'Output the resumed VM.'
        }
        Examples    = @(
            @{ Code = 'Get-Vm | Where-Object State -eq Paused | Resume-Vm'; Remarks = 'Resumes every paused VM.' }
        )
    }
    'Save-Vm' = @{
        Synopsis    = 'Puts VMs in standby: memory to disk, hypervisor ended.'
        Description = 'Saves each running or paused VM as Hyper-V''s Save-VM does: its vCPUs stop, its memory and device state are written to the directory saved in the VM''s directory (QEMU: a migration stream; Cloud Hypervisor: vm.snapshot) with a manifest of their SHA-256 and the VM''s launch settings, the disks are flushed, and the hypervisor ends. The VM''s State becomes Saved; it uses no CPU and no memory until Start-Vm restores it, programs and all. A save that fails leaves the VM as it was (running or paused) and removes what it wrote (VmSaveFailed). A VM that is not running fails with VmNotRunning, under -WhatIf too; a driver that cannot save fails with HypervisorFeatureNotSupported.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column; another kind of object is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            PassThru   = 'Output the saved VM.'
            AsJob      = 'Save in the background and return a job at once, with one child job per VM.'
        }
        Examples    = @(
            @{ Code = 'Save-Vm web; Start-Vm web'; Remarks = 'Puts the VM web in standby, then resumes it from its saved state.' }
            @{ Code = 'Get-Vm | Where-Object State -eq Running | Save-Vm -AsJob'; Remarks = 'Saves every running VM in the background.' }
        )
    }
    'Measure-Vm' = @{
        Synopsis    = 'Measures what running VMs have used: CPU, memory, disk, network, uptime.'
        Description = 'Measures each running or paused VM, as Hyper-V''s Measure-VM does, and outputs one VmPs.VmMeasurement per VM: Uptime (since it last started or was resumed from a saved state); CpuTime and HypervisorMemoryBytes, the user and system CPU time and the resident memory (RSS) of its hypervisor process, read from /proc only while the process recorded for the VM (PID and start time) still runs; GuestMemoryTotalBytes, GuestMemoryAvailableBytes and GuestMemoryUsedBytes, the guest kernel''s own view (MemTotal and MemAvailable) from the VmPs agent, empty while paused, when the agent does not answer within 10 seconds, or when the figures are impossible (a total above the VM''s memory, more available than total): they are the guest''s claim, never trusted further; DiskReadBytes and DiskWrittenBytes, summed over its disks since the hypervisor started (QEMU query-blockstats, Cloud Hypervisor vm.counters); NetworkReceivedBytes, NetworkSentBytes, NetworkReceivedPackets and NetworkSentPackets, from the guest''s side of its TAP since it started (empty without a network adapter). The table view shows CPU seconds, RSS in MiB, the guest''s used/total MiB, disk read/written MiB and network received/sent KiB within 80 columns. A VM that is not running or paused is a non-terminating VmNotRunning error (ErrorCategory InvalidOperation, the VM''s name as TargetObject); an unknown name is VmNotFound.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column; another kind of object is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
        }
        Examples    = @(
            @{ Code = 'Measure-Vm web'; Remarks = 'Shows what the VM web has used.' }
            @{ Code = 'Get-Vm | Where-Object State -eq Running | Measure-Vm | Sort-Object CpuTime -Descending | Select-Object -First 3'; Remarks = 'The three running VMs that used the most CPU.' }
            @{ Code = '(Measure-Vm web).GuestMemoryAvailableBytes / 1MB'; Remarks = 'The memory the guest itself says it has available, in MiB.' }
        )
    }
    'Stop-Vm' = @{
        Synopsis    = 'Shuts VMs down.'
        Description = 'Shuts each VM down as Hyper-V''s Stop-VM does: the guest agent shuts the guest down (its programs get SIGTERM and a grace period; the ACPI power button when the agent does not answer), and the hypervisor is killed once TimeoutSec has passed. With Force the guest shuts down without waiting on its programs: they are killed, then it syncs its disk and powers off. With TurnOff the hypervisor is killed at once, like pulling the power: nothing in the guest gets to run.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Force      = 'Shut the guest down without waiting on its programs (they are killed at once, then the guest syncs and powers off).'
            TurnOff    = 'Kill the hypervisor at once, like pulling the power: the guest does not shut down.'
            TimeoutSec = 'How long the guest''s shutdown may take before the hypervisor is killed (default 30).'
            PassThru   = 'Output the stopped VM.'
            AsJob = 'Stop in the background and return a job at once, with one child job per VM; Receive-Job returns the stopped VMs (with PassThru) and errors.'
        }
        Examples    = @(
            @{ Code = 'Get-Vm | Stop-Vm -PassThru | Remove-Vm'; Remarks = 'Stops and removes every VM.' }
            @{ Code = 'Stop-Vm hung -TurnOff'; Remarks = 'Powers the VM hung off at once, without a shutdown.' }
        )
    }
    'Restart-Vm' = @{
        Synopsis    = 'Restarts VMs: shuts them down and boots them afresh.'
        Description = 'Restarts each running or paused VM: it is shut down as Stop-Vm shuts it down (through the guest agent, with its programs given SIGTERM and a grace period; Force kills them at once; TurnOff kills the hypervisor at once, the hard reset of Hyper-V''s Restart-VM), then booted afresh in a new hypervisor as Start-Vm boots it, and, unless NoWait, the call returns once its guest agent answers. What was in the guest''s memory is gone; its disks, network address and settings are kept. A paused VM is resumed first so that its guest can shut down. A VM that is stopped, crashed or saved is not restarted: it fails with VmNotRunning (ErrorCategory InvalidOperation, the VM''s name as TargetObject), under -WhatIf too; start it with Start-Vm. A boot that fails after the shutdown leaves the VM as a failed Start-Vm leaves it (Crashed, or Stopped when the guest powered off) with the console tail in the error. Progress is shown with Write-Progress.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Force      = 'Shut the guest down without waiting on its programs (they are killed at once, then the guest syncs and powers off), then boot it.'
            TurnOff    = 'Kill the hypervisor at once, like pulling the power, then boot the VM: the guest does not shut down.'
            NoWait     = 'Return once the new hypervisor runs, without waiting for the guest agent.'
            TimeoutSec = 'How long each half may take: the guest''s shutdown before its hypervisor is killed, and the wait for the guest agent after the boot.'
            PassThru   = 'Output the restarted VM.'
            AsJob      = 'Restart in the background and return a job at once, with one child job per VM; Receive-Job returns the restarted VMs (with PassThru) and errors.'
        }
        Defaults    = @{ TimeoutSec = '30 for the shutdown, 120 for the agent' }
        Examples    = @(
            @{ Code = 'Restart-Vm web'; Remarks = 'Shuts the VM web down through its guest and boots it again, returning once its agent answers.' }
            @{ Code = 'Restart-Vm web -Force -PassThru | Invoke-VmCommand -Command cat, /proc/uptime'; Remarks = 'Restarts the VM web without waiting on its programs, then runs a command in the fresh guest.' }
            @{ Code = 'Get-Vm | Where-Object State -eq Running | Restart-Vm -TurnOff -AsJob'; Remarks = 'Resets every running VM at once, in the background, without shutting their guests down.' }
        )
    }
    'Set-Vm' = @{
        Synopsis    = 'Changes the CPUs, memory, metadata options and CD-ROM ISO of VMs: stopped ones, or running ones where the hypervisor hot-plugs.'
        Description = 'Sets the number of virtual CPUs and the memory of each VM, as Hyper-V''s Set-VM -ProcessorCount -MemoryStartupBytes does. A stopped (or crashed) VM boots with them at its next Start-Vm. A running VM changes at once where its hypervisor hot-plugs: Cloud Hypervisor adds or removes vCPUs (up to 4 per host core, at most 254) and adds memory (vm.resize; the guest kernel onlines the added memory itself, and the added amount must be whole 128 MiB blocks, else VmMemoryHotplugStep names the nearest size that works). QEMU''s q35 machine adds and removes vCPUs (up to the same limit; the VmPs agent brings added ones online, and a removed one goes once the guest has let it go, else HypervisorCpuHotplugFailed after 30 seconds), and grows and shrinks memory through a virtio-mem device (in whole 128 MiB blocks, from the memory the VM booted with up to the host''s memory; the guest kernel uses added memory at once, and gives a block back once it has moved what was in it, else HypervisorMemoryHotplugFailed after 30 seconds with the memory as it was); both stay through Save-Vm, Start-Vm and checkpoints, and Restore-VmCheckpoint gives the VM the vCPUs and memory of its checkpoint. Taking memory from a running Cloud Hypervisor VM, taking a q35 VM below the memory it booted with, memory of a q35 VM with shared folders (-Share: virtiofsd needs all guest memory in one shared file) or started by an older VmPs, vCPUs and memory on QEMU''s microvm machine (which plugs nothing), or removing a vCPU of a q35 VM started by an older VmPs fails with VmResizeNeedsStop, which names what the hypervisor does not support and says to stop the VM first; so does a paused or starting VM. Get-VmHost lists each hypervisor''s CpuResize and MemoryResize. The new sizes are recorded (and the owner''s quota checked) before the hypervisor is asked, and given back when it refuses. The values are checked as New-Vm checks them (CpuCountOutOfRange, MemoryOutOfRange), and the state is checked again in the same transaction that writes them, so a VM started or stopped meanwhile is refused too. -MetadataOptions changes EC2''s instance metadata options as modify-instance-metadata-options does: recorded for the next start (a saved VM''s restore applies it too) and, on a running VM, taken by its metadata service at once through the agent, with tokens already issued staying valid; a paused VM is refused (VmPaused). -IsoPath changes the ISO image in the CD-ROM drive of a VM that boots through firmware (an ISO install or a disk image VM), as Hyper-V''s Set-VMDvdDrive -Path does: another ISO, or $null to eject it, so that an installed VM boots its disk from its next Start-Vm on. The drive changes only while the VM is stopped or crashed: a running, paused or starting VM is refused with IsoChangeNeedsStop (stop the VM first; VmPs does not change media in a running VM), and so is a saved one, whose state restores only with the drive it had. A VM that boots its kernel directly has no drive (IsoPathNeedsDiskImage); the ISO is checked as New-Vm -IsoPath checks it (IsoNotFound, IsoPathIsDirectory, IsoNotIso9660). Export-VmSpec writes the new isoPath, or, once ejected, the blank disk image as the VM''s image. Every check runs under -WhatIf.'
        Parameters  = @{
            Name        = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column; another kind of object is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Cpus        = 'Number of virtual CPUs (1 to 4 per host core, at most 254). Unchanged when not given.'
            MemoryMB    = 'Memory in MiB (64 up to the host''s memory). Unchanged when not given. A running VM changes in 128 MiB blocks: on Cloud Hypervisor it only grows, on QEMU q35 it grows and shrinks down to what it booted with.'
            MetadataOptions = 'EC2''s instance metadata options as a hashtable: @{ HttpTokens = ''required'' } (IMDSv2 tokens only) or @{ HttpTokens = ''optional'' }. Any other key is refused (MetadataOptionsInvalid). Unchanged when not given.'
            IsoPath     = 'The ISO 9660 image the stopped VM boots next from its CD-ROM drive, ahead of its disk; relative paths are relative to the current location. $null or an empty string ejects it: the VM boots its disk. Unchanged when not given.'
            PassThru    = 'Output the changed VM.'
        }
        Examples    = @(
            @{ Code = 'Get-Vm | Set-Vm -MetadataOptions @{ HttpTokens = ''required'' }'; Remarks = 'Makes every VM''s metadata service require IMDSv2 tokens, at once on running VMs, as EC2''s HttpTokens=required does.' }
            @{ Code = 'Stop-Vm web; Set-Vm web -Cpus 2 -MemoryMB 1024; Start-Vm web'; Remarks = 'Gives the VM web 2 vCPUs and 1 GiB of memory from its next boot.' }
            @{ Code = 'Set-Vm web -Cpus 4 -MemoryMB 1024'; Remarks = 'On Cloud Hypervisor, gives the running VM web 4 vCPUs and grows its memory to 1 GiB at once (from 512 MiB: four 128 MiB blocks).' }
            @{ Code = 'Set-Vm web -MemoryMB 1024; Invoke-VmCommand web -Command grep, MemTotal, /proc/meminfo'; Remarks = 'On QEMU q35, grows the running VM web from 512 MiB to 1 GiB at once; its kernel''s MemTotal grows by 512 MiB.' }
            @{ Code = 'Get-Vm test-* | Set-Vm -MemoryMB 256 -WhatIf'; Remarks = 'Shows what would change for each test VM, failing for those that cannot change while they run.' }
            @{ Code = 'Stop-Vm inst; Set-Vm inst -IsoPath $null; Start-Vm inst'; Remarks = 'Ejects the installer ISO of the VM inst once its install is done, so that it boots the installed disk.' }
        )
    }
    'Export-VmSpec' = @{
        Synopsis    = 'Writes VMs'' definitions as YAML specs.'
        Description = 'Writes the whole definition of each VM as a YAML document that a script can keep in source control and Import-VmSpec can create the VM from or bring it back to: name, image (or, for an ISO install, isoPath and firmware instead), cpus, memoryMiB, diskSizeGiB, diskFormat (Raw or Qcow2, as -DiskFormat), hypervisor, machineType, initMode, network (name, ipAddress, maxBandwidthMbps, ports as New-Vm -Publish writes them), volumes (as New-Vm -Volume writes them), shares (as New-Vm -Share writes them: /host/dir:/guest/dir[:ro], the host directory absolute), metadataOptions (httpTokens: Optional or Required, as -MetadataOptions), userData (the user data as New-Vm -UserData gave it, a literal block; a text with carriage returns is written quoted with escapes, so it reads back byte for byte) and sshPublicKeys (the -SshPublicKey lines). The spec holds the user data and keys in plain text, as the VM''s directory does: keep it where the user data may be read. The kernel is not part of a spec: it is a path on this host. With -Path, every VM from the pipeline goes into that file, one YAML document each (replacing the file unless -NoClobber); without it, each VM''s spec is output as a string.'
        Parameters  = @{
            Name        = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Path        = 'The file to write. Relative paths are relative to the current location. Without it the specs are output as strings.'
            NoClobber   = 'Fail (HostFileExists) instead of replacing an existing file.'
        }
        Examples    = @(
            @{ Code = 'Get-Vm web | Export-VmSpec -Path web.yaml'; Remarks = 'Writes the definition of the VM web to web.yaml.' }
            @{ Code = 'Export-VmSpec -Name * -Path all.yaml'; Remarks = 'Writes every VM into one file, a YAML document each.' }
        )
    }
    'Import-VmSpec' = @{
        Synopsis    = 'Creates VMs from YAML specs, or brings existing VMs back to them.'
        Description = 'Reads the VM specs in each file (as Export-VmSpec writes them; several YAML documents per file) and, for each, makes a plan: a VM that does not exist is created as New-Vm would create it; for one that exists, the CPUs and memory of a stopped VM are set (Set-Vm), its disk grown (Resize-VmDisk), published ports are added and removed, volumes are mounted and dismounted, and the metadata options set (Set-Vm -MetadataOptions, at once on a running VM) and a stopped VM''s ISO put in or ejected (Set-Vm -IsoPath) until they match. What no step can change (image, or an ISO install''s firmware, a smaller disk, disk format, hypervisor, machine type, init mode, network, address, bandwidth, shares, user data, SSH keys) is reported as a warning and in the result''s NotChanged. Each step is validated and then confirmed through ShouldProcess, so -WhatIf prints the plan and fails where the real run would. A file that is not valid YAML (VmSpecInvalidYaml), that has a key the spec does not know (VmSpecUnknownKey) or a value of the wrong kind (VmSpecInvalidValue) fails with the file, the line and the key, and none of it is applied; files over 1 MiB are refused (VmSpecTooLarge). Outputs one VmPs.VmSpecResult per spec: Name, Outcome (Created, Changed or Unchanged), Changes, NotChanged and Path.'
        Parameters  = @{
            Path        = 'Spec files; wildcards allowed (*.yaml).'
            LiteralPath = 'Spec files, taken literally; also bound from the pipeline (Get-ChildItem *.yaml | Import-VmSpec).'
            AsJob       = 'Validate and confirm every step here (so -WhatIf and errors come at once), then apply them in the background: one child job per VM, whose output is the VmPs.VmSpecResult.'
        }
        Examples    = @(
            @{ Code = 'Import-VmSpec -Path ./vms/*.yaml'; Remarks = 'Creates the VMs that are missing and changes the others where they differ.' }
            @{ Code = 'Import-VmSpec -Path web.yaml -WhatIf'; Remarks = 'Prints the plan: each step as What if:, each difference that cannot change as a warning.' }
        )
    }
    'Checkpoint-Vm' = @{
        Synopsis    = 'Makes a named checkpoint of VMs.'
        Description = 'Makes a checkpoint named CheckpointName of each VM, as Hyper-V''s Checkpoint-VM: a copy-on-write copy of its overlay disk (a reflink that shares the blocks where the file system can; else, with qemu-img from qemu-utils and a hypervisor that can move a running disk onto a new file (QEMU), the disk is frozen in place and the VM writes a new qcow2 file over it from then on, so Get-Vm shows DiskFormat Qcow2 and the checkpoint costs no copy; a sparse full copy of the data only where neither can be made, and DiskCopy says so) and, for a VM that runs, is paused or is saved, its memory and device state sealed with a manifest like Save-Vm''s. A running VM''s vCPUs stand still while the checkpoint is made and then run on. Checkpoints live in the VM''s directory and go with Remove-Vm. A name in use fails with CheckpointNameInUse; an invalid one with InvalidCheckpointName, under -WhatIf too; a failed checkpoint leaves nothing behind and the VM as it was (CheckpointFailed).'
        Parameters  = @{
            Name           = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column.'
            InputObject    = 'VM objects, as Get-Vm outputs them.'
            CheckpointName = 'The checkpoint''s name: 1 to 63 letters, digits, ''-'', ''_'' or ''.'', starting with a letter or digit (Hyper-V''s -SnapshotName works as an alias).'
            PassThru       = 'Output the checkpoint.'
            AsJob = 'Checkpoint in the background and return a job at once, with one child job per VM; Receive-Job returns the checkpoints (with PassThru).'
        }
        Examples    = @(
            @{ Code = 'Checkpoint-Vm -Name web -CheckpointName before-upgrade'; Remarks = 'Checkpoints the VM web, memory included when it runs.' }
        )
    }
    'Copy-Vm' = @{
        Synopsis    = 'Forks a VM as it is now into a new VM.'
        Description = 'Makes the VM named Destination a fork of the VM as it is now: a checkpoint is taken (a running VM''s vCPUs stand still meanwhile and then run on), the new VM is made from it as New-Vm -FromCheckpoint makes one, and the checkpoint is removed (the fork keeps the files it shares with it). The copy of a running, paused or saved VM is Saved in that moment''s memory, and Start-Vm resumes it with its own hostname, machine-id, MAC, address, RNG seed and clock; the copy of a stopped VM is Stopped with a copy of its disk. A Destination in use fails with VmNameInUse, an invalid one with InvalidVmName, under -WhatIf too. Outputs the new VM.'
        Parameters  = @{
            Name        = 'Names of the VMs to copy. Also taken from the pipeline: names, VM objects, objects with a VmName property and rows with a Name column.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Destination = 'The new VM''s name.'
            AsJob = 'Copy in the background and return a job at once; Receive-Job returns the new VM.'
        }
        Examples    = @(
            @{ Code = 'Copy-Vm -Name web -Destination web-debug | Start-Vm'; Remarks = 'Forks the running VM web and resumes the fork beside it.' }
        )
    }
    'Get-VmCheckpoint' = @{
        Synopsis    = 'Gets the checkpoints of VMs.'
        Description = 'Outputs the checkpoints of each VM (VmPs.VmCheckpoint objects: Name, VmName, Created, SizeBytes, HasMemory, DiskCopy), oldest first. SizeBytes is what the checkpoint''s files take on disk. The objects pipe into Restore-VmCheckpoint and Remove-VmCheckpoint.'
        Parameters  = @{
            VmName = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property.'
            Vm     = 'VM objects, as Get-Vm outputs them.'
            Name   = 'Checkpoint names; wildcards allowed (default: all).'
        }
        Examples    = @(
            @{ Code = 'Get-VmCheckpoint -VmName web'; Remarks = 'Lists the checkpoints of the VM web.' }
            @{ Code = 'Get-Vm | Get-VmCheckpoint | Where-Object Created -lt (Get-Date).AddDays(-7) | Remove-VmCheckpoint -Force'; Remarks = 'Removes every checkpoint older than a week.' }
        )
    }
    'Restore-VmCheckpoint' = @{
        Synopsis    = 'Returns VMs to a checkpoint.'
        Description = 'Returns the VM to the checkpoint, as Hyper-V''s Restore-VMSnapshot: a VM that runs is turned off first and its current state is lost, so it asks for confirmation (ConfirmImpact High; Force does not ask). The VM gets the checkpoint''s disk; with memory (HasMemory) the checkpoint''s state becomes the VM''s saved state and the VM is Saved, so Start-Vm resumes it where the checkpoint was taken; without, the VM is Stopped. The checkpoint stays and can be restored again. An unknown VM or checkpoint fails with VmNotFound or CheckpointNotFound, under -WhatIf too.'
        Parameters  = @{
            VmName      = 'The VM.'
            Name        = 'The checkpoint''s name.'
            InputObject = 'Checkpoint objects, as Get-VmCheckpoint outputs them.'
            Force       = 'Restore without asking for confirmation.'
            PassThru    = 'Output the VM.'
            AsJob = 'Restore in the background and return a job at once, with one child job per checkpoint; Receive-Job returns the VMs (with PassThru).'
        }
        Examples    = @(
            @{ Code = 'Restore-VmCheckpoint -VmName web -Name before-upgrade -Force; Start-Vm web'; Remarks = 'Returns the VM web to its checkpoint and resumes it there.' }
        )
    }
    'Remove-VmCheckpoint' = @{
        Synopsis    = 'Deletes checkpoints.'
        Description = 'Deletes the checkpoint''s files; the VM is not changed. Asks for confirmation (ConfirmImpact High; Force does not ask). An unknown VM or checkpoint fails with VmNotFound or CheckpointNotFound, under -WhatIf too.'
        Parameters  = @{
            VmName      = 'The VM.'
            Name        = 'The checkpoint''s name.'
            InputObject = 'Checkpoint objects, as Get-VmCheckpoint outputs them.'
            Force       = 'Remove without asking for confirmation.'
        }
        Examples    = @(
            @{ Code = 'Get-VmCheckpoint -VmName web | Remove-VmCheckpoint -Force'; Remarks = 'Removes every checkpoint of the VM web.' }
        )
    }
    'Remove-Vm' = @{
        Synopsis    = 'Deletes VMs.'
        Description = 'Deletes the VM''s disks, directory and state row. Asks for confirmation (ConfirmImpact High, as Hyper-V''s Remove-VM); Force removes without asking and turns a running VM off first, which is otherwise refused (VmRunning). An unknown name fails before anything is asked, under -WhatIf too.'
        Parameters  = @{
            Name       = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
            Force      = 'Remove without asking for confirmation, turning a running VM off (killing its hypervisor) first.'
        }
        Examples    = @(
            @{ Code = 'Remove-Vm -Name test-* -Force'; Remarks = 'Removes every VM whose name starts with test-, running or not, without asking.' }
        )
    }
    'Invoke-VmCommand' = @{
        Synopsis    = 'Runs a command in VMs through their guest agent, in parallel, with streaming output and stdin.'
        Description = 'Runs the command in each VM through its guest agent (no SSH). -Command is an argument vector run without a shell; -ScriptBlock and -Script are text for the guest''s /bin/sh -c. Without -Stream, outputs one VmPs.VmCommandResult per VM (VmName, Command, ExitCode, Signal, Stdout, Stderr, Duration); with -Stream, writes stdout lines to the pipeline as they arrive (strings with a VmName note property) and stderr lines to the error stream (ErrorRecords with ErrorId VmCommandStandardError, category FromStdErr, the VM as target), the unfinished last line at the end. A non-zero exit code is a result, not an error: like a native command, Invoke-VmCommand sets $global:LASTEXITCODE (0 when every VM''s command exited 0, else the exit code of the last one that did not; 128 + signal when killed by a signal). VMs come from -Name, or from the pipeline (VM objects, names, objects with a VmName property, or rows with a Name column); with -Name, pipeline input goes to the command''s stdin as it arrives and stdin closes when the pipeline ends. Every VM runs at the same time up to ThrottleLimit; a VM that fails (not found, not running, timed out) is a non-terminating error with the VM as target and the others go on. Ctrl+C, a timeout and Stop-Job kill the commands in the guests. With AsJob, returns a job (Get-Job, Receive-Job, Wait-Job, Stop-Job, Remove-Job) with one child job per VM. What a guest sends is bounded: a result holds at most MaxOutputBytes of stdout and of stderr (16 MiB each by default), and a command that writes more is killed with the error GuestOutputTooLarge (category LimitsExceeded); with -Stream output of any size flows line by line (a line longer than 1 Mi characters comes in pieces of that length) and a pipeline that falls behind holds the guest command back instead of queueing its output in memory. An agent that sends output beyond its flow-control window, or anything that is not the protocol, ends the connection with AgentProtocolError.'
        Parameters  = @{
            Name             = 'Names of the VMs; wildcards allowed. Then pipeline input is the command''s stdin.'
            Vm               = 'VMs from the pipeline: VM objects as Get-Vm outputs them, names, objects with a VmName property, or rows with a Name column. Name the command explicitly then (-Command, or a script block), since a positional argument vector binds to -Name.'
            Command          = 'The program and its arguments, run without a shell: -Command uname, -r.'
            ScriptBlock      = 'Shell text run by the guest''s /bin/sh -c, not by PowerShell; it must still parse as PowerShell. For text that does not (such as >&2 or $(...)), use -Script.'
            Script           = 'Shell text run by the guest''s /bin/sh -c, as a plain string: -Script ''echo $(hostname) >&2''.'
            InputObject      = 'Text for the command''s stdin: each object as a line (UTF-8), byte arrays as they are. With -Name it comes from the pipeline and streams to every VM as it arrives; with VMs from the pipeline, give it by name and every VM gets it.'
            Stream           = 'Write stdout lines to the pipeline and stderr lines to the error stream as they arrive, instead of one result object per VM. No output limit applies; a line longer than 1 Mi characters comes in pieces.'
            MaxOutputBytes   = 'The most bytes of stdout, and of stderr, a result object holds (default 16 MiB; 100MB and the like work). A command that writes more is killed and that VM reports GuestOutputTooLarge. Not used with -Stream.'
            Environment      = 'Environment variables added to the command''s environment: -Environment @{ MODE = ''test'' }.'
            WorkingDirectory = 'Directory in the guest to run the command in (default: the image''s working directory).'
            User             = 'Guest user to run as: a name, a uid, name:group or uid:gid (default root).'
            TimeoutSec       = 'Kill the command, and everything it started, when it runs longer than this; that VM then reports the error AgentExecTimeout.'
            ThrottleLimit    = 'How many VMs run the command at the same time (default 32).'
            AsJob            = 'Run in the background and return a job at once (after the pipeline input); results, -Stream lines and errors are in its child jobs, one per VM, and Receive-Job returns them.'
            JobName          = 'Name of the job that AsJob creates.'
        }
        Defaults    = @{ MaxOutputBytes = '16 MiB' }
        Examples    = @(
            @{ Code = 'Invoke-VmCommand -Name web -Command uname, -r'; Remarks = 'Runs uname -r in the VM web and returns its result object.' }
            @{ Code = 'Get-Vm web* | Invoke-VmCommand { ls / | wc -l }'; Remarks = 'Runs a shell pipeline in every VM whose name starts with web, in parallel.' }
            @{ Code = 'Invoke-VmCommand web -Script ''make 2>&1'' -Stream; if ($LASTEXITCODE) { throw ''build failed'' }'; Remarks = 'Shows the output as it comes and checks the exit code like a native command''s.' }
            @{ Code = 'Get-Content ./data.csv | Invoke-VmCommand web -Command sort'; Remarks = 'Streams the lines of a local file to sort''s stdin in the guest.' }
            @{ Code = '(Invoke-VmCommand web { cat /var/log/big.log } -MaxOutputBytes 200MB).Stdout'; Remarks = 'Raises the output limit for a command known to print up to 200 MB; -Stream would take output of any size line by line.' }
            @{ Code = '$job = Get-Vm | Invoke-VmCommand -Command apk, upgrade -AsJob; $job | Wait-Job | Receive-Job'; Remarks = 'Runs a long command in every VM in the background, then collects the results.' }
        )
    }
    'Enter-Vm' = @{
        Synopsis    = 'Opens an interactive shell in a running VM, or its serial console, on a real terminal.'
        Description = 'Runs Shell in the VM on a pseudo-terminal of the local window''s size and joins it to this console, like Enter-PSSession: the local terminal is in raw mode while the shell runs, so every key goes to the guest (Ctrl+C interrupts the guest''s foreground command, Ctrl+D ends the shell''s input) and window size changes follow. Returns when the guest shell exits, restores the terminal and sets $LASTEXITCODE to the shell''s exit code. Needs an interactive terminal: with redirected input or output it fails with EnterVmNeedsTerminal (use Invoke-VmCommand instead). The VM must be running (VmNotRunning). With -Console, attaches the terminal to the VM''s serial console instead (see Console).'
        Parameters  = @{
            Name             = 'Name of the VM (no wildcards). Also taken from the pipeline: a name, a VM object (Get-Vm), an object with a VmName property or a row with a Name column.'
            InputObject      = 'A VM object, as Get-Vm outputs it.'
            Console          = 'Attaches the terminal to the VM''s serial console (the guest''s ttyS0) rather than running a shell through the agent: for installers, boot menus and any VM without the VmPs agent. Keys go to the console as typed, in raw mode; the guest''s output is shown unchanged. Press Ctrl+] (the byte 0x1D, as in telnet and virsh console) to detach: only the keys you type are watched for it, never the guest''s output, and it is not sent to the guest. Detaching leaves the VM running; if the VM stops, the session ends with a warning. The console log (Get-VmLog -Source Console) keeps everything the guest writes while attached. One session at a time per VM (SerialConsoleInUse). QEMU only: Cloud Hypervisor keeps its serial port on the log file (HypervisorFeatureNotSupported); VMs started by a VmPs without console sockets need a restart (SerialConsoleUnavailable).'
            Shell            = 'The program to run on the terminal (default /bin/sh).'
            User             = 'Guest user to run the shell as: name, uid, name:group or uid:gid (default root).'
            WorkingDirectory = 'Directory in the guest to start the shell in.'
        }
        Examples    = @(
            @{ Code = 'Enter-Vm web'; Remarks = 'Opens /bin/sh in the VM web; type exit to come back.' }
            @{ Code = 'Get-Vm web | Enter-Vm -Shell /bin/bash -User app -WorkingDirectory /srv'; Remarks = 'Opens bash as the user app in /srv.' }
            @{ Code = 'Enter-Vm inst -Console'; Remarks = 'Attaches to the serial console of the VM inst (an installer, a login prompt); Ctrl+] detaches and leaves it running.' }
        )
    }
    'Copy-VmFile' = @{
        Synopsis    = 'Copies files and directory trees between the host and a running VM.'
        Description = 'Copies through the guest agent, without SSH or network. With -ToVm, Path names host files or directories (wildcards allowed, relative to the current location) and Destination is an absolute guest path; with -FromVm, Path is an absolute guest path and Destination a host path. As with cp, a destination that is an existing directory (or ends with /) receives the source under its own name (the last name of Path as typed); otherwise the source is copied as the destination. The directory the copy goes into must exist (CopyDestinationNotFound) unless -CreateFullPath. Content streams as a tar stream with flow control, so large files never sit whole in memory. Modes, modification times and symbolic links (as links, never followed) are kept. A copy belongs to whoever writes it, as with cp without -p: root in the guest; on the host the invoking user, with the permission bits less the umask and never setuid, setgid or sticky bits; -PreserveOwnership keeps owners and modes (setuid and setgid are still dropped on the host). Everything a guest sends is checked as hostile: every host path comes from Path and Destination, never from the guest; only the requested file or tree is written (HostArchiveUnexpectedEntry otherwise), below the destination, with every path resolved by the kernel so that no name, link or chain of links reaches outside it (HostPathEscape); devices, FIFOs and hard links are refused (HostUnsupportedFileType), as are names longer than 255 bytes, paths longer than 4096 bytes and malformed archives (HostArchiveInvalid). Files are replaced atomically. A copy that fails removes what it had created. Progress (bytes and percent) is shown with Write-Progress.'
        Parameters  = @{
            Name        = 'Name of the running VM (no wildcards). Also taken from the pipeline: a name, a VM object (Get-Vm), an object with a VmName property or a row with a Name column.'
            InputObject = 'The VM, as Get-Vm outputs it, given by argument (a piped VM binds to Name).'
            Path        = 'What to copy: host paths with -ToVm (wildcards allowed; several sources go into the Destination directory), absolute guest paths with -FromVm.'
            Destination = 'Where to copy to: an absolute guest path with -ToVm, a host path (relative to the current location) with -FromVm. An existing directory, or a path ending with /, receives the source under its own name.'
            ToVm        = 'Copy from the host into the VM.'
            FromVm      = 'Copy from the VM to the host.'
            Recurse     = 'Copy directories with everything in them; without it a directory source fails with CopyRecurseRequired.'
            Force       = 'Overwrite an existing destination (files are replaced, directories merged); without it an existing destination fails with GuestFileExists or HostFileExists.'
            CreateFullPath    = 'Create the directory the copy goes into, with its parents, when it does not exist (as Hyper-V''s Copy-VMFile -CreateFullPath); without it a missing one fails with CopyDestinationNotFound.'
            PreserveOwnership = 'Keep the source''s owners and permission bits (as cp -p or tar --same-owner). Into a VM everything is kept; out of a VM setuid and setgid bits are dropped all the same, and owners are kept only where this process may set them (as root).'
            PassThru    = 'Output what was created: a VmPs.GuestFile with -ToVm, a FileInfo or DirectoryInfo with -FromVm.'
            AsJob       = 'Copy in the background and return a job at once, with one child job per source copied; Receive-Job returns what -PassThru outputs, and errors.'
        }
        Examples    = @(
            @{ Code = 'Copy-VmFile -Name web -Path ./site -Destination /srv/ -ToVm -Recurse'; Remarks = 'Copies the directory site into /srv/site in the VM web.' }
            @{ Code = 'Get-Vm web | Copy-VmFile -Path /var/log/app.log -Destination . -FromVm -Force'; Remarks = 'Copies a log file from the VM into the current directory, replacing an older copy.' }
            @{ Code = 'Copy-VmFile -Name web -Path /etc -Destination ./backup/web/ -FromVm -Recurse -CreateFullPath -PreserveOwnership'; Remarks = 'Copies the guest''s /etc into ./backup/web/etc, creating ./backup/web, with the guest''s owners and modes (never setuid or setgid).' }
        )
    }
    'New-VmImage' = @{
        Synopsis    = 'Pulls or imports an OCI/Docker image and converts it into a bootable VmPs image, or imports a disk image or a stopped VM''s disk.'
        Description = 'Fetches the image from a registry (OCI distribution API; anonymous, bearer-token and basic auth, credentials from ~/.docker/config.json or -Credential; manifest lists and OCI indexes resolved for -Platform), or imports an OCI image layout directory or a docker save archive (-Path). Blobs go to a content-addressed cache shared by all images, each verified against its digest, so a layer is never downloaded twice. The layers are applied in order (whiteouts, opaque directories, hardlinks, symlinks, devices, ownership, modes, mtimes and xattrs; an entry that would escape the root fails with LayerEntryEscapesRoot) and the result is packed into an erofs (default, compressed) or ext4 root filesystem. The image keeps its config (entrypoint, cmd, env, working directory, user, exposed ports, labels, stop signal) and an init mode: Systemd when the command is /sbin/init, /lib/systemd/systemd, /usr/lib/systemd/systemd or ends in /init, else Exec. Without -Name the image is named after the repository''s last path component and its tag: docker.io/library/alpine:3.20 becomes alpine:3.20. Adding the same image under the same name again returns the existing image; another image under a taken name is an error (ImageNameInUse) unless -Force. Progress (phase, bytes, layers) is shown with Write-Progress; a failure or Ctrl+C leaves no image behind. A disk image (-Path to a .qcow2, .qcow, .img or .raw file, or any file with -Firmware), such as a distribution''s cloud image, is imported whole as an image of Kind Disk that boots through firmware: its format (qcow2 or raw) is decided by VmPs, never probed, and checked with qemu-img (qemu-utils); it is copied once into the image store (a reflink where the file system can) and kept there as the read-only base of the VMs made from it. Refused, with nothing left behind: a file that is neither a qcow2 image nor a raw disk with a partition table, or that qemu-img cannot read (DiskImageInvalid); a qcow2 that refers to a backing file or an external data file, which would make VmPs read a host file (BackingFileRefused; flatten an image you trust with qemu-img convert); a qcow2 that qemu-img check finds corrupt (DiskImageCorrupt); a disk larger than a VM''s disk may be, 8192 GiB (DiskImageTooLarge). -Tag, -Format and -InitMode do not apply to a disk image, nor -Firmware to an OCI image (ImageParameterNotApplicable).'
        Parameters  = @{
            Owner = 'The VmPs user who owns the image (see New-VmUser); without it, the administrator. Get-VmImage shows it as Owner.'
            Reference  = 'The image reference: alpine:3.20, docker.io/library/nginx:1.27, 127.0.0.1:5000/team/app@sha256:... Registries other than loopback are reached over HTTPS unless -Insecure.'
            Platform   = 'os/architecture[/variant] to select from a multi-platform image (default linux/amd64).'
            Credential = 'User name and password (or token) for the registry, instead of ~/.docker/config.json.'
            Insecure   = 'Allow plain HTTP to a registry that is not on loopback.'
            Path       = 'An OCI image layout directory, a docker save archive (.tar), or a disk image (.qcow2, .qcow, .img, .raw).'
            Firmware   = 'The firmware a disk image boots through: Uefi (default; OVMF on QEMU) or Bios (SeaBIOS). Given with -Path, the file is imported as a disk image whatever its name.'
            FromVm     = 'A stopped VM of a disk image (Kind Disk) whose disk becomes the new image: its copy-on-write overlay and the image under it are flattened by qemu-img convert into one qcow2 file in the image store, a read-only base with the VM''s firmware and disk size (VirtualSizeBytes), checked like an imported image. Needs -Name. The VM''s disk is locked meanwhile, so it cannot start; a running, paused or saved VM is refused (ImageFromVmNeedsStoppedVm), and so is a VM of an OCI image, whose disk is an overlay of files, not a bootable disk (ImageFromVmUnsupported). A failure leaves no image. Typical use: install from an ISO (New-Vm -IsoPath) or configure a cloud image VM, stop it, and make it a template for new VMs. Without -Name it is refused (ImageNameRequired), as is a taken name unless -Force (ImageNameInUse) and a VM that does not exist (VmNotFound).'
            Tag        = 'Which image of the layout or archive to import, when it holds more than one.'
            Name       = 'Name of the image, as New-Vm -Image takes it: letters, digits, ''.'', ''_'', ''-'', ''@'' and '':''. Default: the repository''s last path component and tag; for a disk image, its file name without the extension.'
            Format     = 'Erofs (default: compressed, read-only, smallest) or Ext4.'
            InitMode   = 'Exec (run the image''s command beside the agent) or Systemd (boot the image''s systemd). Default: detected from the image''s command.'
            Force      = 'Replace an image of the same name (refused while VMs use it).'
            AsJob      = 'Pull and build in the background and return a job at once; Receive-Job returns the image, errors and, with -Verbose, each phase with its time.'
        }
        Defaults    = @{ Format = 'Erofs'; Firmware = 'Uefi' }
        Examples    = @(
            @{ Code = 'New-VmImage docker.io/library/alpine:3.20'; Remarks = 'Pulls alpine and stores it as the image alpine:3.20.' }
            @{ Code = 'New-VmImage 127.0.0.1:5000/team/app:1.0 -Name app -Credential (Get-Credential)'; Remarks = 'Pulls from a private registry with a user name and password.' }
            @{ Code = 'New-VmImage -Path ./app.tar -Name app -Format Ext4'; Remarks = 'Imports a docker save archive as an ext4 image.' }
            @{ Code = 'New-VmImage -Path ./debian-12-genericcloud-amd64.qcow2 -Name debian-cloud'; Remarks = 'Imports a Debian cloud image as a disk image that boots through UEFI.' }
            @{ Code = 'Stop-Vm inst; New-VmImage -FromVm inst -Name template; New-Vm -Name web1 -Image template'; Remarks = 'Turns the stopped VM inst''s disk into the disk image template and creates a VM from it.' }
            @{ Code = 'New-VmImage alpine:3.20 | New-Vm -Name web | Start-Vm'; Remarks = 'Pulls an image and boots a VM from it: a piped image binds to -Image.' }
            @{ Code = '$job = New-VmImage docker.io/library/nginx:1.27 -AsJob; $job | Receive-Job -Wait -Verbose'; Remarks = 'Pulls in the background; the verbose stream lists each phase with its time.' }
        )
    }
    'Get-VmImage' = @{
        Synopsis    = 'Gets the images New-Vm can boot.'
        Description = 'Gets all images, or those named: images added with New-VmImage, the built-in busybox image once it has been built, and the built-in blank disks of ISO installs (blank-uefi, blank-bios: Kind Disk, Reference builtin:NAME) once a New-Vm -IsoPath made them. Each is a VmPs.VmImage with Name, Kind (Oci: a root filesystem booted directly; Disk: a disk image booted through firmware), Reference, Digest (the manifest digest; a disk image''s file digest), Platform, Format (Erofs or Ext4; Qcow2 or Raw for a disk image), InitMode, Firmware (Uefi or Bios; disk images only), SizeBytes (on the host), VirtualSizeBytes (the disk a disk image''s guest sees), Created, Entrypoint, Cmd and the full Config (environment, working directory, user, exposed ports, labels, stop signal).'
        Parameters  = @{
            Name = 'Names of the images; wildcards allowed. A name without wildcards that matches no image is an error (ImageNotFound).'
        }
        Examples    = @(
            @{ Code = 'Get-VmImage'; Remarks = 'Lists every image.' }
            @{ Code = 'Get-VmImage alpine* | Select-Object Name, Entrypoint, Cmd'; Remarks = 'Shows what the alpine images run.' }
        )
    }
    'Remove-VmImage' = @{
        Synopsis    = 'Deletes images.'
        Description = 'Deletes the image''s root filesystem and its record, then the cached blobs (layers and config) that no remaining image was built from; while a New-VmImage runs, blobs stay until the next removal or Clear-VmImageCache. An image that VMs use is refused (ImageInUse) unless Force; those VMs then fail to start with ImageRootfsMissing until they are removed. Prune removes every image no VM uses. Asks for confirmation (ConfirmImpact High); Force does not ask. -WhatIf shows what would go.'
        Parameters  = @{
            Name        = 'Names of the images; wildcards allowed. Also taken from the pipeline: names, image objects and rows with a Name column; a VM or another kind of object is refused.'
            InputObject = 'Image objects, as Get-VmImage and New-VmImage output them.'
            Prune       = 'Remove every image that no VM uses.'
            Force       = 'Remove without asking for confirmation, even an image VMs use.'
        }
        Examples    = @(
            @{ Code = 'Remove-VmImage alpine:3.20 -Confirm:$false'; Remarks = 'Removes the image unless a VM uses it, and the blobs only it used.' }
            @{ Code = 'Get-VmImage test-* | Remove-VmImage -Force'; Remarks = 'Removes every image whose name starts with test-, even those VMs use.' }
            @{ Code = 'Remove-VmImage -Prune -WhatIf'; Remarks = 'Lists the images no VM uses, which Remove-VmImage -Prune would remove.' }
        )
    }
    'Clear-VmImageCache' = @{
        Synopsis    = 'Frees the disk the image store can do without.'
        Description = 'Removes cached blobs that no image was built from, interrupted downloads that no New-VmImage is writing, and what a New-VmImage killed partway left: staging trees (images/.pull-*) and image directories without a record. With All it also removes the blobs images were built from: images boot from their own root filesystems, so they keep working and a later pull downloads those blobs again. Anything an image add that runs now uses is left in place (a warning says so). Every removal asks ShouldProcess (ConfirmImpact Medium): -WhatIf lists what would go. Images from VmPs versions that did not record their blobs count as using none.'
        Parameters  = @{
            All      = 'Also remove the blobs that images were built from.'
            PassThru = 'Output a VmPs.VmImageCacheItem (Kind, SizeBytes, Path) for each thing removed.'
        }
        Examples    = @(
            @{ Code = 'Clear-VmImageCache -WhatIf'; Remarks = 'Lists what would be removed.' }
            @{ Code = 'Clear-VmImageCache -All -PassThru | Measure-Object SizeBytes -Sum'; Remarks = 'Empties the blob cache and tells how many bytes were freed.' }
        )
    }
    'New-VmNetwork' = @{
        Synopsis    = 'Creates a VM network.'
        Description = 'Creates a network VMs can join with New-Vm -Network: a Linux bridge (vmpsbr-<id>) holding the gateway address, an address pool handed out to VMs (the network, gateway and broadcast addresses never are), and firewall rules: NAT to the outside (unless NoNat), published ports, and isolation (VMs reach no other VmPs network and no host address but their gateway). The rules go to the nftables table inet vmps; a host without nftables gets them as VMPS-* chains through iptables-restore, and $env:VMPS_FIREWALL (nftables or iptables) forces one. The subnet must not overlap another VmPs network (SubnetConflict) or a host route (SubnetOverlapsHostRoute); the error suggests a free subnet. Interfaces and rules live in the namespace named by $env:VMPS_NETNS, else in the host''s own. IPv4 forwarding is turned on if it is off.'
        Parameters  = @{
            Name            = 'Name of the network: 1-40 letters, digits, ''-'', ''_'' or ''.''; unique on this host.'
            Subnet          = 'IPv4 subnet in CIDR notation with a prefix from /8 to /30, for example 10.101.0.0/24.'
            Gateway         = 'The host''s address on the network (default: the subnet''s first address). VMs use it as their default route.'
            Nat             = 'Masquerade the VMs'' traffic out of the host (the default).'
            NoNat           = 'Create a host-only network: VMs reach their gateway and each other, nothing beyond the host.'
            Isolated        = 'Also block traffic between VMs on this network (bridge port isolation); each VM then reaches only the gateway and, with NAT, the outside.'
            Dns             = 'Name servers given to the VMs (default 1.1.1.1).'
            UplinkInterface = 'Host interface the VMs'' traffic may leave by (default: any). NAT applies only there.'
            Mtu             = 'MTU of the bridge and of every VM TAP (default 1500).'
        }
        Examples    = @(
            @{ Code = 'New-VmNetwork -Name lab -Subnet 10.101.0.0/24'; Remarks = 'A NAT network; the host is 10.101.0.1 on it.' }
            @{ Code = 'New-VmNetwork -Name backend -Subnet 10.102.0.0/24 -NoNat -Isolated'; Remarks = 'A host-only network whose VMs cannot reach each other.' }
        )
    }
    'Get-VmNetwork' = @{
        Synopsis    = 'Gets VM networks and whether the host matches them.'
        Description = 'Gets all VM networks, or those named, with their bridge, subnet, gateway, NAT, uplink, number of VMs and free addresses. Each network is compared with the host, and nothing on the host is changed: Status is Healthy when its bridge, gateway address, IPv4 forwarding, firewall rules and VMs'' TAPs are as recorded, else Degraded, with Problems saying what differs (after a reboot, a manual ip link del or nft flush ruleset, or a hypervisor that died). Repair-VmNetwork repairs.'
        Parameters  = @{
            Name = 'Names of the networks; wildcards allowed. A name without wildcards that matches no network is an error (NetworkNotFound).'
        }
        Examples    = @(
            @{ Code = 'Get-VmNetwork'; Remarks = 'Lists every network.' }
            @{ Code = 'Get-VmNetwork lab* | Where-Object FreeAddresses -lt 10'; Remarks = 'Networks whose names start with lab and that are nearly full.' }
            @{ Code = 'Get-VmNetwork | Where-Object Status -eq Degraded | Select-Object Name -ExpandProperty Problems'; Remarks = 'Shows what differs on the host for each degraded network.' }
        )
    }
    'Repair-VmNetwork' = @{
        Synopsis    = 'Brings VM networks on the host back to what VmPs recorded.'
        Description = 'Repairs every VM network, or those named or piped in, that Get-VmNetwork shows as Degraded: recreates a missing bridge and its gateway address, turns IPv4 forwarding and route_localnet back on, rewrites firewall rules that are missing or changed, puts the TAP of a running VM that is off its bridge or down back in place, and deletes the TAP of a VM that is not running (after its hypervisor died). A running VM whose hypervisor is no longer attached to its TAP (the TAP was deleted under it) cannot get its network back in place, since a new TAP would not reach the hypervisor: that is a warning asking to restart the VM (Stop-Vm, then Start-Vm), and its TAP is left alone. With -WhatIf it lists the repairs it would make and changes nothing; -Verbose lists the repairs made. Networks that need nothing are left as they are.'
        Parameters  = @{
            Name        = 'Names of the networks (default: every network); wildcards allowed. Also taken from the pipeline: names, network objects and rows with a Name column; a VM or another kind of object is refused. A name without wildcards that matches no network is an error (NetworkNotFound).'
            InputObject = 'Network objects, as Get-VmNetwork and New-VmNetwork output them.'
            PassThru    = 'Output each network after its repair, with its Status and remaining Problems.'
        }
        Examples    = @(
            @{ Code = 'Repair-VmNetwork -WhatIf'; Remarks = 'Lists what would be repaired on every network, changing nothing.' }
            @{ Code = 'Get-VmNetwork | Where-Object Status -eq Degraded | Repair-VmNetwork -PassThru -Verbose'; Remarks = 'Repairs the degraded networks, reports each repair, and outputs the networks afterwards.' }
        )
    }
    'Remove-VmNetwork' = @{
        Synopsis    = 'Deletes VM networks.'
        Description = 'Deletes the network''s rules, bridge and record, leaving no interface or rule behind. A network that VMs use is refused (NetworkInUse) unless Force, which first detaches those VMs: their network adapters, TAPs, published ports and addresses are removed, and running VMs lose their network at once but keep running. Asks for confirmation (ConfirmImpact High, as Hyper-V''s Remove-VMSwitch); Force does not ask.'
        Parameters  = @{
            Name        = 'Names of the networks; wildcards allowed. Also taken from the pipeline: names, network objects and rows with a Name column; a VM or another kind of object is refused.'
            InputObject = 'Network objects, as Get-VmNetwork and New-VmNetwork output them.'
            Force       = 'Remove without asking for confirmation, detaching the VMs on the network.'
        }
        Examples    = @(
            @{ Code = 'Remove-VmNetwork lab -Confirm:$false'; Remarks = 'Removes the network unless a VM uses it.' }
            @{ Code = 'Get-VmNetwork test-* | Remove-VmNetwork -Force'; Remarks = 'Removes every network whose name starts with test-, detaching their VMs.' }
        )
    }
    'Add-VmPortMapping' = @{
        Synopsis    = 'Publishes a VM port on the host.'
        Description = 'Makes connections to HostPort on the host reach VmPort in the VM: from other hosts, from other VMs, and from the host itself at 127.0.0.1 and the gateway address (DNAT in prerouting and output, with masquerading for loopback and hairpin clients). A host port another VM publishes or a host process listens on is refused (PortInUse).'
        Parameters  = @{
            VmName      = 'Name of the VM. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'The VM object, as Get-Vm and New-Vm output it.'
            HostPort    = 'Port on the host, 1-65535.'
            VmPort      = 'Port in the VM (default: the same as HostPort).'
            Protocol    = 'Tcp (default) or Udp.'
            HostAddress = 'Publish on this host address only (default: every host address).'
            PassThru    = 'Output the new mapping.'
        }
        Examples    = @(
            @{ Code = 'Add-VmPortMapping web -HostPort 8080 -VmPort 80'; Remarks = 'http://<host>:8080 and http://127.0.0.1:8080 reach port 80 of the VM web.' }
            @{ Code = 'Get-Vm dns | Add-VmPortMapping -HostPort 5353 -VmPort 53 -Protocol Udp -HostAddress 127.0.0.1 -PassThru'; Remarks = 'Publishes UDP port 53 on the host''s loopback only.' }
        )
    }
    'Get-VmPortMapping' = @{
        Synopsis    = 'Gets published VM ports.'
        Description = 'Gets the port mappings of every VM, or of the VMs named or piped in, with the VM address each one leads to.'
        Parameters  = @{
            VmName      = 'Names of the VMs; wildcards allowed. Also taken from the pipeline: names, VM objects, objects with a VmName property (adapters, port mappings, command results) and rows with a Name column (Import-Csv); another kind of object (a network, an image, a process) is refused, never taken for its Name.'
            InputObject = 'VM objects, as Get-Vm outputs them.'
        }
        Examples    = @(
            @{ Code = 'Get-VmPortMapping'; Remarks = 'Every published port.' }
            @{ Code = 'Get-Vm web* | Get-VmPortMapping'; Remarks = 'The ports published by VMs whose names start with web.' }
        )
    }
    'Remove-VmPortMapping' = @{
        Synopsis    = 'Stops publishing a VM port.'
        Description = 'Deletes the mapping of HostPort (and Protocol) to the VM, and its rules. A port the VM does not publish is an error (PortMappingNotFound).'
        Parameters  = @{
            VmName      = 'Name of the VM. Also taken from the pipeline: a name, a VM object, an object with a VmName property (so Get-VmPortMapping output can be piped in) or a row with a Name column.'
            InputObject = 'The VM object, as Get-Vm outputs it.'
            HostPort    = 'The published host port.'
            Protocol    = 'Tcp (default) or Udp.'
        }
        Examples    = @(
            @{ Code = 'Remove-VmPortMapping web -HostPort 8080'; Remarks = 'Unpublishes host port 8080/tcp of the VM web.' }
            @{ Code = 'Get-VmPortMapping web | Remove-VmPortMapping'; Remarks = 'Unpublishes every port of the VM web.' }
        )
    }
    'New-VmUser' = @{
        Synopsis    = 'Creates a VmPs user.'
        Description = 'Creates a user who can own VMs, volumes and images (New-Vm -Owner), reach them through the access layer with a token (New-VmUserToken) or an SSH key, and be limited by a quota (Set-VmQuota; a new user has no limits). Names follow the rules of VM names; the e-mail address must be a plain address (it is sent to VMs in the X-VmPs-Email header of proxied requests). Names and addresses are unique, case-insensitively, and an SSH key belongs to one user. Local root in pwsh is the administrator and acts for any user.'
        Parameters  = @{
            Name         = 'Name of the user: 1 to 63 letters, digits, ''-'', ''_'' or ''.'', starting with a letter or digit. Also taken from a Name column of a row.'
            Email        = 'E-mail address of the user. Also taken from an Email column of a row.'
            SshPublicKey = 'OpenSSH public keys as authorized_keys lines (type, base64 and an optional comment; no options). Known types: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 and their security-key forms.'
        }
        Examples    = @(
            @{ Code = 'New-VmUser alice alice@example.test -SshPublicKey (Get-Content ~/.ssh/id_ed25519.pub)'; Remarks = 'Creates the user alice with one SSH key.' }
            @{ Code = 'Import-Csv users.csv | New-VmUser'; Remarks = 'Creates one user per row; the columns Name and Email bind by name.' }
        )
    }
    'Get-VmUser' = @{
        Synopsis    = 'Gets VmPs users.'
        Description = 'Outputs users with their e-mail address, SSH keys (SshKeys, by fingerprint), quota (Quota; null is no limit) and what they use (Usage: VMs, vCPUs and memory of running VMs, disk of VMs and volumes), the VMs shared with them (SharedVms) and how many tokens they hold (TokenCount; the tokens themselves are stored only as hashes). The table shows use/limit, with - for no limit.'
        Parameters  = @{
            Name = 'Names of the users; wildcards allowed. Default: every user. Also taken from the pipeline as user objects or objects with a User property.'
        }
        Examples    = @(
            @{ Code = 'Get-VmUser'; Remarks = 'Lists the users with their use and limits.' }
            @{ Code = '(Get-VmUser alice).SshKeys'; Remarks = 'Lists the SSH keys of alice.' }
        )
    }
    'Set-VmUser' = @{
        Synopsis    = 'Renames a user or changes its e-mail address.'
        Description = 'Changes the name or the e-mail address of a user; what it owns, its keys, tokens, quota and the VMs shared with it stay. Both stay unique.'
        Parameters  = @{
            Name        = 'Name of the user.'
            InputObject = 'A user object, as Get-VmUser outputs it.'
            NewName     = 'The new name.'
            Email       = 'The new e-mail address.'
            PassThru    = 'Output the changed user.'
        }
        Examples    = @(
            @{ Code = 'Set-VmUser alice -Email alice@corp.example.test -PassThru'; Remarks = 'Changes the address of alice and shows the user.' }
        )
    }
    'Remove-VmUser' = @{
        Synopsis    = 'Deletes VmPs users.'
        Description = 'Deletes each user with its SSH keys, tokens and VM grants. A user who still owns VMs, volumes or images is refused (UserOwnsResources, naming them): remove them first. Asks for confirmation (ConfirmImpact High); -Force or -Confirm:$false does not ask.'
        Parameters  = @{
            Name        = 'Names of the users; wildcards allowed.'
            InputObject = 'User objects, as Get-VmUser outputs them.'
            Force       = 'Remove without asking.'
        }
        Examples    = @(
            @{ Code = 'Remove-VmUser bob -Force'; Remarks = 'Deletes the user bob without asking.' }
        )
    }
    'Add-VmUserKey' = @{
        Synopsis    = 'Adds SSH public keys to a user.'
        Description = 'Adds OpenSSH public keys to a user and outputs them with their fingerprints. A key that belongs to a user already is refused (SshKeyInUse): a key identifies one user. Keys are validated before anything is stored: a known type, canonical base64 whose blob names that type, a plain comment, no options.'
        Parameters  = @{
            User         = 'Name of the user.'
            SshPublicKey = 'Public keys as authorized_keys lines; also from the pipeline (Get-Content key.pub).'
        }
        Examples    = @(
            @{ Code = 'Get-Content ~/.ssh/id_ed25519.pub | Add-VmUserKey -User alice'; Remarks = 'Adds the key in id_ed25519.pub to alice.' }
        )
    }
    'Remove-VmUserKey' = @{
        Synopsis    = 'Removes SSH keys from a user.'
        Description = 'Removes keys given by fingerprint (SHA256:..., as Get-VmUser shows them), as public key lines, or as key objects. A key the user does not have is SshKeyNotFound.'
        Parameters  = @{
            User        = 'Name of the user.'
            Key         = 'Fingerprints (SHA256:...) or public key lines.'
            InputObject = 'Key objects, as (Get-VmUser NAME).SshKeys lists them.'
            Force       = 'Remove without asking, even with -Confirm preferences that would ask.'
        }
        Examples    = @(
            @{ Code = '(Get-VmUser alice).SshKeys | Remove-VmUserKey'; Remarks = 'Removes every SSH key of alice.' }
            @{ Code = 'Remove-VmUserKey alice SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8'; Remarks = 'Removes one key by its fingerprint.' }
        )
    }
    'Set-VmQuota' = @{
        Synopsis    = 'Sets the limits of a user.'
        Description = 'Sets the limits given and leaves the others; $null removes a limit. Quotas are checked in the same state-database transaction that allocates, so parallel sessions cannot together exceed them: New-Vm and forks (MaxVms, MaxDiskGiB), Start-Vm (MaxCpus and MaxMemoryMiB of the running VMs), Set-Vm (MaxCpus, MaxMemoryMiB), New-VmVolume, Resize-VmDisk and Resize-VmVolume (MaxDiskGiB). A refusal is QuotaExceeded, naming the limit, the use and the request. A limit below the current use is allowed: nothing is taken away, only what would add to it is refused.'
        Parameters  = @{
            User         = 'Name of the user; also from the pipeline as a user object.'
            MaxVms       = 'VMs the user may own, whatever their state.'
            MaxCpus      = 'vCPUs of the user''s running VMs.'
            MaxMemoryMiB = 'Memory in MiB of the user''s running VMs.'
            MaxDiskGiB   = 'GiB of the user''s VM disks and volumes, by their full size.'
            PassThru     = 'Output the user with its new quota.'
        }
        Examples    = @(
            @{ Code = 'Set-VmQuota -User alice -MaxVms 3 -MaxCpus 4 -MaxMemoryMiB 4096 -MaxDiskGiB 50'; Remarks = 'Limits alice to three VMs, four running vCPUs, 4 GiB of running memory and 50 GiB of disk.' }
            @{ Code = 'Set-VmQuota alice -MaxVms $null'; Remarks = 'Removes the VM count limit of alice.' }
        )
    }
    'New-VmIngress' = @{
        Synopsis    = 'Routes a host name to a port of a VM through the HTTPS ingress.'
        Description = 'Makes an ingress route: requests for the host name reach the port of the VM through the Caddy instance VmPs runs for this state directory (Debian package caddy; CaddyNotFound names it when missing). Caddy runs detached in the VMs'' network namespace, with its configuration, log and certificates in the ingress folder of the state directory (0700) and its admin API only on a 0600 unix socket there; routes change through that API without a restart, and a Caddy that died is started again with its routes by the next ingress command (Get-VmIngress included). -Tls Internal (the default) serves HTTPS on port 443 with a certificate from the ingress''s own CA (its root is data/pki/authorities/local/root.crt in the ingress folder; it is never added to the host''s trust store); -Tls Acme serves HTTPS with a certificate from the ACME CA of Set-VmHost -AcmeDirectory (Let''s Encrypt by default), which Caddy proves the host name to by HTTP-01 (port 80) or TLS-ALPN-01 (port 443), so the name must resolve to this host for the CA; Caddy renews it, keeps serving the previous certificate when a renewal fails, and Get-VmIngress shows the state (CertificateStatus: Valid until, Pending, or Failed with the CA''s error). -Tls Off serves plain HTTP on port 80. A private route (the default) is meant for the VM''s owner and the users it is shared with (Grant-VmAccess), with a token of New-VmUserToken as a bearer token or as the password of basic auth, the VM getting X-VmPs-User and X-VmPs-Email and never the token: Caddy asks VmPs''s token checker (a program in the module''s bin/ingress-auth, run with the dotnet that runs pwsh and supervised as Caddy is, listening only on the 0600 unix socket auth.sock of the ingress folder; it needs the ASP.NET Core runtime, AspNetCoreRuntimeNotFound otherwise): no token or a wrong one gets 401 with a challenge, the token of a user who neither owns the VM nor was granted it gets 403, and while the checker is down private routes answer 503 until the next ingress command starts it again (IngressAuthFailed when it cannot start, IngressAuthNotFound when the module folder lacks it). X-VmPs-* headers a client sends are dropped on every route. -Public lets anyone in. Requests to a VM that does not answer (stopped, or nothing on the port) get a 503 page naming the VM. The host name must be a DNS name (InvalidIngressHostname: no wildcards, ports, paths or other characters) that routes nowhere yet (IngressHostnameInUse). When Caddy cannot serve the route (IngressPortInUse: port 80 or 443 taken; IngressCaddyFailed) nothing is kept. Routes go with their VM.'
        Parameters  = @{
            VmName   = 'Name of the VM; also from the pipeline as a VM object.'
            Hostname = 'The host name requests are routed by, such as web.example.test; stored in lower case.'
            Port     = 'The VM''s port requests go to (default 80).'
            Tls      = 'Internal (default: HTTPS with the ingress''s own CA), Acme (HTTPS with a certificate from the ACME CA of Set-VmHost -AcmeDirectory) or Off (plain HTTP on port 80).'
            Public   = 'Anyone may reach the route, without a token.'
        }
        Examples    = @(
            @{ Code = 'New-VmIngress web web.example.test -Port 8080'; Remarks = 'Serves https://web.example.test/ from port 8080 of VM web, to its owner and the users it is shared with.' }
            @{ Code = 'curl --cacert /var/lib/vmps/ingress/data/pki/authorities/local/root.crt https://web.example.test/'; Remarks = 'Reaches a route with -Tls Internal, trusting the ingress''s own CA.' }
            @{ Code = 'Get-Vm web | New-VmIngress -Hostname docs.example.test -Tls Off -Public'; Remarks = 'Serves http://docs.example.test/ to anyone.' }
        )
    }
    'Get-VmIngress' = @{
        Synopsis    = 'Gets the ingress routes.'
        Description = 'Gets the routes of New-VmIngress and the default route of each VM under the ingress domain (Set-VmHost -IngressDomain; IsDefault), all of them, those whose host names match, or those of some VMs, with each VM''s state and the route''s certificate as Caddy holds it (CertificateStatus: Valid until DATE with its issuer, Pending while none was issued yet, or Failed with the CA''s last error; empty for -Tls Off). The routes are served as read: a Caddy that died is started again, and VMs made since the last change get their default routes.'
        Parameters  = @{
            Hostname = 'Host names of the routes; wildcards allowed. A literal name that routes nowhere is IngressNotFound.'
            VmName   = 'Only the routes to these VMs; wildcards allowed. Also from the pipeline as VM objects.'
        }
        Examples    = @(
            @{ Code = 'Get-VmIngress'; Remarks = 'Lists every route.' }
            @{ Code = 'Get-Vm web | Get-VmIngress'; Remarks = 'Lists the routes to VM web.' }
            @{ Code = 'Get-VmIngress | Where-Object CertificateStatus -like Failed* | Format-List Hostname, CertificateStatus'; Remarks = 'Shows the routes that have no certificate and why.' }
        )
    }
    'Remove-VmIngress' = @{
        Synopsis    = 'Removes ingress routes.'
        Description = 'Stops serving the routes and deletes them. A default route under the ingress domain goes with its VM or the domain only (IngressRouteIsDefault). With no route left, the ingress''s Caddy is ended.'
        Parameters  = @{
            Hostname    = 'Host names of the routes; wildcards allowed.'
            InputObject = 'Routes from Get-VmIngress.'
        }
        Examples    = @(
            @{ Code = 'Remove-VmIngress web.example.test'; Remarks = 'Removes one route.' }
            @{ Code = 'Get-Vm web | Get-VmIngress | Where-Object { -not $_.IsDefault } | Remove-VmIngress'; Remarks = 'Removes the routes of VM web.' }
        )
    }
    'Start-VmSshGateway' = @{
        Synopsis    = 'Starts the SSH gateway through which users reach their VMs.'
        Description = 'Starts VmPs''s own sshd for this state directory (Debian package openssh-server: /usr/sbin/sshd; SshdNotFound names it when missing; the system''s ssh service need not run). It runs detached as root (SshGatewayNeedsRoot otherwise), in a mount namespace of its own and, as the ingress''s Caddy, in the VMs'' network namespace (VMPS_NETNS when set: it then listens there, not in the host''s), with its configuration, host key (ed25519, made once, 0600), accounts and log in the sshgw folder of the state directory (0700); a sshd that died is started again by the next Get-VmSshGateway or Start-VmSshGateway. Users log in with the SSH keys of New-VmUser/Add-VmUserKey only: no passwords, no root, no agent or X11 forwarding, no listening ports. The one forwarding allowed is ssh -J vmps@HOST:2222 root@NAME (or NAME@HOST:2222, or a bare HOST:2222, which logs in with the client''s local user name: a user''s own name works as vmps does, for that user''s keys only, unless the user may reach a VM of that name): it opens port 22 of a VM the key''s user owns or was given, by the VM''s name (which the gateway resolves itself) or its address, and nothing else. Command mode''s new puts the VM on the default network for it. sshd asks the gateway program (bin/sshgw/vmps-sshgw in the module folder, which must be owned by root and writable by no one else up to /: SshGatewayProgramUnsafe) for the key offered; an unknown key, or the name of a VM the key''s user may not reach, is refused before any VM code runs. Every session runs the gateway program, never a host shell. Command mode, as vmps: ssh -p 2222 vmps@HOST new [--image IMAGE] [--name NAME], ls [--json], rm NAME, restart NAME, share NAME EMAIL, under the user''s ownership and quota. A port taken by another program is SshGatewayPortInUse and nothing is started. A gateway running with other settings is started again with these, which ends its open sessions.'
        Parameters  = @{
            Port          = 'TCP port sshd listens on; 2222 by default.'
            ListenAddress = 'IP address to listen on (InvalidSshGatewayAddress otherwise); every IPv4 address (0.0.0.0) by default.'
        }
        Examples    = @(
            @{ Code = 'Start-VmSshGateway -Port 2222'; Remarks = 'Starts the gateway on every IPv4 address, port 2222.' }
            @{ Code = 'Start-VmSshGateway -Port 2222 -ListenAddress 127.0.0.1; ssh -p 2222 vmps@127.0.0.1 ls'; Remarks = 'Starts it on the loopback address only, then lists your VMs as the user whose key ssh offers.' }
        )
    }
    'Stop-VmSshGateway' = @{
        Synopsis    = 'Stops the SSH gateway.'
        Description = 'Ends the gateway''s sshd and every session it serves: the connections of command and proxy mode are closed and the programs they run in the gateway end (what runs in a VM through a session is ended by the VM''s agent when the session goes). It stays stopped, keeping its host key and settings, until Start-VmSshGateway.'
        Parameters  = @{
            PassThru = 'Outputs the gateway afterwards.'
        }
        Examples    = @(
            @{ Code = 'Stop-VmSshGateway'; Remarks = 'Stops the gateway.' }
        )
    }
    'Get-VmSshGateway' = @{
        Synopsis    = 'Gets the SSH gateway.'
        Description = 'Gets the gateway: Status, ListenAddress, Port, ProcessId, its host key (HostKeyFingerprint, and HostPublicKey for a known_hosts line) and its folder. A gateway whose sshd died since it was started is started again first.'
        Parameters  = @{}
        Examples    = @(
            @{ Code = 'Get-VmSshGateway'; Remarks = 'Shows whether the gateway runs, where, and its host key.' }
            @{ Code = '$g = Get-VmSshGateway; "[myhost]:$($g.Port) $($g.HostPublicKey)" | Add-Content ~/.ssh/known_hosts'; Remarks = 'Pins the gateway''s host key for ssh clients.' }
        )
    }
    'New-VmUserToken' = @{
        Synopsis    = 'Creates an access token for a user.'
        Description = 'Creates a random token (vmps_ and 43 characters, 256 bits) for a user to reach private VMs through the ingress, as a bearer token (Authorization: Bearer TOKEN) or as the password of basic auth. The token is output this once: only its SHA-256 hash is stored, so it cannot be shown again; make another if it is lost.'
        Parameters  = @{
            User = 'Name of the user; also from the pipeline as a user object.'
        }
        Examples    = @(
            @{ Code = '$token = (New-VmUserToken alice).Token'; Remarks = 'Makes a token for alice and keeps it in a variable.' }
        )
    }
    'Grant-VmAccess' = @{
        Synopsis    = 'Shares VMs with a user.'
        Description = 'Lets a user who does not own a VM reach it (through the ingress and the SSH gateway) as its owner does. Granting to the owner is refused (VmAccessToOwner); a grant that exists is kept. Grants go with their VM and with their user.'
        Parameters  = @{
            VmName = 'Names of the VMs; wildcards allowed. Also from the pipeline as VM objects.'
            User   = 'Name of the user to share them with.'
        }
        Examples    = @(
            @{ Code = 'Grant-VmAccess -VmName web -User bob'; Remarks = 'Shares the VM web with bob.' }
            @{ Code = 'Get-Vm web-* | Grant-VmAccess -User bob'; Remarks = 'Shares every web-* VM with bob.' }
        )
    }
    'Revoke-VmAccess' = @{
        Synopsis    = 'Stops sharing VMs with a user.'
        Description = 'Takes back what Grant-VmAccess gave. A VM not shared with the user is VmAccessNotFound; the owner''s access cannot be revoked.'
        Parameters  = @{
            VmName = 'Names of the VMs; wildcards allowed. Also from the pipeline as VM objects.'
            User   = 'Name of the user.'
        }
        Examples    = @(
            @{ Code = 'Revoke-VmAccess -VmName web -User bob'; Remarks = 'bob can no longer reach web.' }
        )
    }
}
