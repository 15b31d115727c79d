using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Core.Specs;

/// <summary>
/// One step of an Import-VmSpec plan. <see cref="ValidateAsync"/> makes every check of the step without changing
/// anything (what -WhatIf runs); <see cref="ApplyAsync"/> makes the change through the managers, which roll back
/// their own failures.
/// </summary>
public abstract record VmSpecChange(string VmName)
{
    /// <summary>What the step does, as ShouldProcess shows it ("Publish port 8080:80").</summary>
    public abstract string Action { get; }

    public virtual Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken);
}

public sealed record CreateVmChange(VmCreateOptions Spec) : VmSpecChange(Spec.Name)
{
    public override string Action => $"Create VM ({Spec.Image}, {Spec.Cpus} vCPU, {Spec.MemoryMiB} MiB{(Spec.Network is { } network ? $", network {network.Network}" : "")})";

    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.ValidateCreateAsync(Spec, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.CreateAsync(Spec, cancellationToken);
}

public sealed record SetResourcesChange(string VmName, int CurrentCpus, int CurrentMemoryMiB, VmSetOptions Options) : VmSpecChange(VmName)
{
    public override string Action =>
        $"Set CPUs {CurrentCpus} -> {Options.Cpus ?? CurrentCpus}, memory {CurrentMemoryMiB} -> {Options.MemoryMiB ?? CurrentMemoryMiB} MiB";

    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: true, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: false, cancellationToken);
}

public sealed record SetMetadataOptionsChange(string VmName, MetadataHttpTokens Current, MetadataHttpTokens HttpTokens) : VmSpecChange(VmName)
{
    public override string Action => $"Set metadata HttpTokens {Current} -> {HttpTokens}";

    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: true, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: false, cancellationToken);

    private VmSetOptions Options => new() { MetadataHttpTokens = HttpTokens };
}

public sealed record SetIsoPathChange(string VmName, string? Current, string? IsoPath) : VmSpecChange(VmName)
{
    public override string Action => $"Set ISO {Current ?? "(none)"} -> {IsoPath ?? "(none: boot the disk)"}";

    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: true, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.SetAsync(VmName, Options, dryRun: false, cancellationToken);

    private VmSetOptions Options => new() { ChangeIsoPath = true, IsoPath = IsoPath };
}

public sealed record ResizeDiskChange(string VmName, int CurrentSizeGiB, int SizeGiB) : VmSpecChange(VmName)
{
    public override string Action => $"Grow the disk {CurrentSizeGiB} -> {SizeGiB} GiB";

    /// <summary>Resize-VmDisk has no dry run; its one precondition a spec can break is a VM that is not stopped.</summary>
    public override async Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken)
    {
        var vm = await services.Vms.GetAsync(VmName, cancellationToken).ConfigureAwait(false);
        VmValidation.ValidateDiskSize(SizeGiB);
        if (vm.State is not (VmState.Stopped or VmState.Crashed))
        {
            throw VmErrors.DiskResizeNeedsStoppedVm(vm.Name, vm.State);
        }
    }

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Vms.ResizeDiskAsync(VmName, SizeGiB, cancellationToken);
}

public sealed record AddPortChange(string VmName, Guid VmId, PortMappingOptions Port) : VmSpecChange(VmName)
{
    public override string Action => $"Publish port {PublishedPortParser.Format(Port)}";

    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Networks.ValidatePortMappingAsync(VmId, Port, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Networks.AddPortMappingAsync(VmId, Port, cancellationToken);
}

public sealed record RemovePortChange(string VmName, Guid VmId, PortMappingOptions Port) : VmSpecChange(VmName)
{
    public override string Action => $"Unpublish port {PublishedPortParser.Format(Port)}";

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Networks.RemovePortMappingAsync(VmId, Port.Protocol, Port.HostPort, cancellationToken);
}

public sealed record MountVolumeChange(string VmName, VolumeAttachOptions Attachment) : VmSpecChange(VmName)
{
    public override string Action => $"Mount volume {VolumeValidation.FormatAttachment(Attachment)}";

    /// <summary>The volume must exist: a spec names volumes, it does not say how to build them.</summary>
    public override Task ValidateAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Volumes.GetAsync(Attachment.Volume, cancellationToken);

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Volumes.MountAsync(VmName, Attachment, cancellationToken);
}

public sealed record DismountVolumeChange(string VmName, VolumeAttachOptions Attachment) : VmSpecChange(VmName)
{
    public override string Action => $"Dismount volume {VolumeValidation.FormatAttachment(Attachment)}";

    public override Task ApplyAsync(IVmPsServices services, CancellationToken cancellationToken) =>
        services.Volumes.DismountAsync(VmName, Attachment.Volume, force: false, cancellationToken);
}
