# Host set-up shared by build/setup.sh (the README's first command) and tests/run (its test command).
# Sourced, not run: it defines the package lists and two functions and changes nothing by itself.

# What VmPs needs at run time: the hypervisor, a guest kernel, root filesystem tools, the built-in image.
VMPS_RUNTIME_PACKAGES=(
    qemu-system-x86          # the hypervisor where Cloud Hypervisor is missing (and under TCG where KVM cannot boot a guest)
    ovmf                     # UEFI firmware QEMU boots disk images (cloud images) through; SeaBIOS comes with qemu-system-x86
    xorriso                  # writes the cloud-init seed disk (ISO 9660, label cidata) of disk image VMs
    linux-image-cloud-amd64  # the default guest kernel: the host's distro kernel and its modules
    erofs-utils              # mkfs.erofs for root filesystems
    e2fsprogs                # mkfs.ext4, resize2fs and e2fsck for overlay disks and volumes
    qemu-utils               # qemu-img: qcow2 volumes, backing-file copies, resizing
    busybox-static           # the built-in busybox image
    caddy                    # the HTTPS ingress to VMs (New-VmIngress): VmPs runs and configures its own Caddy
)

# What building from source needs besides the .NET SDK: the NativeAOT guest links statically with gcc.
VMPS_BUILD_PACKAGES=(gcc libc6-dev zlib1g-dev)

# The PowerShell the module is built and tested for, installed as a .NET global tool.
VMPS_PWSH_VERSION=7.6.10

# Installs the Debian packages given that are missing (as root, or through sudo).
vmps_install_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "missing packages (install them as root): ${missing[*]}" >&2; return 1; }
        sudo=(sudo)
    fi
    echo "installing Debian packages: ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the path of pwsh $VMPS_PWSH_VERSION, installing it first (a .NET global tool) when it is absent or another
# version. The path is printed rather than looked up on PATH: a fresh ~/.dotnet/tools is not on PATH until next login.
vmps_pwsh() {
    local tools="${DOTNET_CLI_HOME:-$HOME}/.dotnet/tools"
    if [[ ! -x $tools/pwsh ]]; then
        echo "installing PowerShell $VMPS_PWSH_VERSION (dotnet tool install --global PowerShell)" >&2
        dotnet tool install --global PowerShell --version "$VMPS_PWSH_VERSION" >&2
    elif [[ ! -d $tools/.store/powershell/$VMPS_PWSH_VERSION ]]; then
        echo "updating PowerShell to $VMPS_PWSH_VERSION (dotnet tool update --global PowerShell)" >&2
        dotnet tool update --global PowerShell --version "$VMPS_PWSH_VERSION" >&2
    fi
    echo "$tools/pwsh"
}
