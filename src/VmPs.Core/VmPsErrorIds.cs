namespace VmPs.Core;

/// <summary>
/// Every ErrorId VmPs raises (the first part of an ErrorRecord's FullyQualifiedErrorId), in one catalog: the code
/// that throws and the code that tells errors apart (<c>when (error.ErrorId == VmPsErrorIds.X)</c>) name the same
/// constant, so an id cannot drift between them. Ids are part of the public contract: scripts match on them.
/// Composite ids are made from a prefix and a code: file errors by <c>AgentFileErrors</c> (Guest.../Host... plus the
/// protocol's file error code, e.g. <see cref="GuestFileNotFound"/>), archive failures by <c>TarArchiveFailure</c>.
/// </summary>
public static class VmPsErrorIds
{
    public const string AddressInUse = nameof(AddressInUse);

    public const string AddressOutOfSubnet = nameof(AddressOutOfSubnet);

    public const string AddressPoolExhausted = nameof(AddressPoolExhausted);

    public const string AddressReserved = nameof(AddressReserved);

    public const string AgentConnectionLost = nameof(AgentConnectionLost);

    public const string AgentExecTimeout = nameof(AgentExecTimeout);

    public const string AgentNotReady = nameof(AgentNotReady);

    public const string AgentNotResponding = nameof(AgentNotResponding);

    public const string AgentProtocolError = nameof(AgentProtocolError);

    public const string AgentVersionMismatch = nameof(AgentVersionMismatch);

    public const string AspNetCoreRuntimeNotFound = nameof(AspNetCoreRuntimeNotFound);

    public const string BackingFileRefused = nameof(BackingFileRefused);

    public const string BlankDiskImageNameTaken = nameof(BlankDiskImageNameTaken);

    public const string BlobDigestMismatch = nameof(BlobDigestMismatch);

    public const string BlobNotFound = nameof(BlobNotFound);

    public const string BlobTruncated = nameof(BlobTruncated);

    public const string BusyboxNotInstalled = nameof(BusyboxNotInstalled);

    public const string BusyboxNotStatic = nameof(BusyboxNotStatic);

    public const string CaddyNotFound = nameof(CaddyNotFound);

    public const string CdRomUnsupported = nameof(CdRomUnsupported);

    public const string CheckpointFailed = nameof(CheckpointFailed);

    public const string CheckpointNameInUse = nameof(CheckpointNameInUse);

    public const string CheckpointNotFound = nameof(CheckpointNotFound);

    public const string CheckpointNotForkable = nameof(CheckpointNotForkable);

    public const string CloudHypervisorInvalidResponse = nameof(CloudHypervisorInvalidResponse);

    public const string CopyDestinationNotFound = nameof(CopyDestinationNotFound);

    public const string CopyRecurseRequired = nameof(CopyRecurseRequired);

    public const string CopyTargetNameRequired = nameof(CopyTargetNameRequired);

    public const string CpuCountOutOfRange = nameof(CpuCountOutOfRange);

    public const string CredentialHelperFailed = nameof(CredentialHelperFailed);

    public const string DeviceMapperUnavailable = nameof(DeviceMapperUnavailable);

    public const string DigestInvalid = nameof(DigestInvalid);

    public const string DiskImageCorrupt = nameof(DiskImageCorrupt);

    public const string DiskImageVmUnsupported = nameof(DiskImageVmUnsupported);

    public const string DiskImageInvalid = nameof(DiskImageInvalid);

    public const string DiskImageTooLarge = nameof(DiskImageTooLarge);

    public const string DiskSmallerThanImage = nameof(DiskSmallerThanImage);

    public const string DiskSizeOutOfRange = nameof(DiskSizeOutOfRange);

    public const string DockerConfigInvalid = nameof(DockerConfigInvalid);

    public const string DuplicateMountPath = nameof(DuplicateMountPath);

    public const string EmptyCommand = nameof(EmptyCommand);

    public const string EnterVmNeedsTerminal = nameof(EnterVmNeedsTerminal);

    public const string ExecutableNotFound = nameof(ExecutableNotFound);

    public const string ExternalToolFailed = nameof(ExternalToolFailed);

    public const string ExternalToolTimedOut = nameof(ExternalToolTimedOut);

    public const string FilesystemDamaged = nameof(FilesystemDamaged);

    public const string FirewallNotFound = nameof(FirewallNotFound);

    public const string FirewallRulesFailed = nameof(FirewallRulesFailed);

    public const string FirmwareNeedsIsoPath = nameof(FirmwareNeedsIsoPath);

    public const string FirmwareNotFound = nameof(FirmwareNotFound);

    public const string GuestBadRequest = nameof(GuestBadRequest);

    public const string GuestBinaryNotFound = nameof(GuestBinaryNotFound);

    public const string GuestCommandNotFound = nameof(GuestCommandNotFound);

    public const string GuestExecFailed = nameof(GuestExecFailed);

    public const string GuestExecHasNoTerminal = nameof(GuestExecHasNoTerminal);

    public const string GuestFileExists = nameof(GuestFileExists);

    public const string GuestFileNotFound = nameof(GuestFileNotFound);

    public const string GuestListingTooLarge = nameof(GuestListingTooLarge);

    public const string GuestNetworkConfigureFailed = nameof(GuestNetworkConfigureFailed);

    public const string GuestNetworkInterfaceNotFound = nameof(GuestNetworkInterfaceNotFound);

    public const string GuestOperationNotSupported = nameof(GuestOperationNotSupported);

    public const string GuestOutputTooLarge = nameof(GuestOutputTooLarge);

    public const string GuestUserNotFound = nameof(GuestUserNotFound);

    public const string GuestVolumeBusy = nameof(GuestVolumeBusy);

    public const string GuestVolumeDiskNotFound = nameof(GuestVolumeDiskNotFound);

    public const string GuestVolumeMountFailed = nameof(GuestVolumeMountFailed);

    public const string HostAddressNotLocal = nameof(HostAddressNotLocal);

    public const string HostFileExists = nameof(HostFileExists);

    public const string HostFileNotFound = nameof(HostFileNotFound);

    public const string HostNetworkFailed = nameof(HostNetworkFailed);

    public const string HypervisorAlreadyRunning = nameof(HypervisorAlreadyRunning);

    public const string HypervisorCpuHotplugFailed = nameof(HypervisorCpuHotplugFailed);

    public const string HypervisorDiskHotplugFailed = nameof(HypervisorDiskHotplugFailed);

    public const string HypervisorFeatureNotSupported = nameof(HypervisorFeatureNotSupported);

    public const string HypervisorMemoryHotplugFailed = nameof(HypervisorMemoryHotplugFailed);

    public const string HypervisorKillFailed = nameof(HypervisorKillFailed);

    public const string HypervisorNotInstalled = nameof(HypervisorNotInstalled);

    public const string HypervisorStartFailed = nameof(HypervisorStartFailed);

    public const string HypervisorStartTimeout = nameof(HypervisorStartTimeout);

    public const string ImageArchiveInvalid = nameof(ImageArchiveInvalid);

    public const string ImageArchiveLimitExceeded = nameof(ImageArchiveLimitExceeded);

    public const string ImageArchiveNotFound = nameof(ImageArchiveNotFound);

    public const string ImageConfigInvalid = nameof(ImageConfigInvalid);

    public const string ImageDeviceNodeUnsupported = nameof(ImageDeviceNodeUnsupported);

    public const string ImageFromVmNeedsStoppedVm = nameof(ImageFromVmNeedsStoppedVm);

    public const string ImageFromVmUnsupported = nameof(ImageFromVmUnsupported);

    public const string ImageInUse = nameof(ImageInUse);

    public const string ImageNameInUse = nameof(ImageNameInUse);

    public const string ImageNameRequired = nameof(ImageNameRequired);

    public const string ImageNotFound = nameof(ImageNotFound);

    public const string ImageParameterNotApplicable = nameof(ImageParameterNotApplicable);

    public const string ImageReferenceInvalid = nameof(ImageReferenceInvalid);

    public const string ImageRootfsMissing = nameof(ImageRootfsMissing);

    public const string ImageSourceNotFound = nameof(ImageSourceNotFound);

    public const string ImageTagNotFound = nameof(ImageTagNotFound);

    public const string ImageTagRequired = nameof(ImageTagRequired);

    public const string IngressAuthFailed = nameof(IngressAuthFailed);

    public const string IngressAuthNotFound = nameof(IngressAuthNotFound);

    public const string IngressCaddyFailed = nameof(IngressCaddyFailed);

    public const string IngressHostnameInUse = nameof(IngressHostnameInUse);

    public const string IngressNotFound = nameof(IngressNotFound);

    public const string IngressPortInUse = nameof(IngressPortInUse);

    public const string IngressRouteIsDefault = nameof(IngressRouteIsDefault);

    public const string InsecureRegistryRefused = nameof(InsecureRegistryRefused);

    public const string InvalidAcmeDirectory = nameof(InvalidAcmeDirectory);

    public const string InvalidAcmeRootCertificate = nameof(InvalidAcmeRootCertificate);
    public const string InvalidAcmeChallenges = nameof(InvalidAcmeChallenges);

    public const string InvalidBandwidth = nameof(InvalidBandwidth);

    public const string InvalidCheckpointName = nameof(InvalidCheckpointName);

    public const string InvalidDiskSerial = nameof(InvalidDiskSerial);

    public const string InvalidEmail = nameof(InvalidEmail);

    public const string InvalidFirewallBackend = nameof(InvalidFirewallBackend);

    public const string InvalidGuestCommand = nameof(InvalidGuestCommand);

    public const string InvalidGuestEnvironment = nameof(InvalidGuestEnvironment);

    public const string InvalidGuestPath = nameof(InvalidGuestPath);

    public const string InvalidIPAddress = nameof(InvalidIPAddress);

    public const string InvalidImageName = nameof(InvalidImageName);

    public const string InvalidIngressHostname = nameof(InvalidIngressHostname);

    public const string InvalidLayerEntry = nameof(InvalidLayerEntry);

    public const string InvalidLogPollInterval = nameof(InvalidLogPollInterval);

    public const string InvalidLogSource = nameof(InvalidLogSource);

    public const string InvalidLogTail = nameof(InvalidLogTail);

    public const string InvalidLvmName = nameof(InvalidLvmName);

    public const string InvalidMacAddress = nameof(InvalidMacAddress);

    public const string InvalidMaxOutputBytes = nameof(InvalidMaxOutputBytes);

    public const string InvalidMountPath = nameof(InvalidMountPath);

    public const string InvalidMtu = nameof(InvalidMtu);

    public const string InvalidNetworkName = nameof(InvalidNetworkName);

    public const string InvalidNetworkNamespace = nameof(InvalidNetworkNamespace);

    public const string InvalidPort = nameof(InvalidPort);

    public const string InvalidPublishedPort = nameof(InvalidPublishedPort);

    public const string InvalidQuota = nameof(InvalidQuota);

    public const string InvalidShare = nameof(InvalidShare);

    public const string InvalidSshGatewayAddress = nameof(InvalidSshGatewayAddress);

    public const string InvalidSshPublicKey = nameof(InvalidSshPublicKey);

    public const string InvalidSubnet = nameof(InvalidSubnet);

    public const string InvalidTapName = nameof(InvalidTapName);

    public const string InvalidTerminalSize = nameof(InvalidTerminalSize);

    public const string InvalidUserName = nameof(InvalidUserName);

    public const string InvalidVmName = nameof(InvalidVmName);

    public const string InvalidVolumeAttachment = nameof(InvalidVolumeAttachment);

    public const string InvalidVolumeName = nameof(InvalidVolumeName);

    public const string InvalidVsockCid = nameof(InvalidVsockCid);

    public const string IpForwardingDisabled = nameof(IpForwardingDisabled);

    public const string IsoNotFound = nameof(IsoNotFound);

    public const string IsoNotIso9660 = nameof(IsoNotIso9660);

    public const string IsoNotReadable = nameof(IsoNotReadable);

    public const string IsoPathIsDirectory = nameof(IsoPathIsDirectory);

    public const string IsoPathWithImage = nameof(IsoPathWithImage);

    public const string IsoPathNeedsDiskImage = nameof(IsoPathNeedsDiskImage);

    public const string IsoChangeNeedsStop = nameof(IsoChangeNeedsStop);

    public const string KernelBuildFailed = nameof(KernelBuildFailed);

    public const string KernelBuildNoSpace = nameof(KernelBuildNoSpace);

    public const string KernelBuildToolsMissing = nameof(KernelBuildToolsMissing);

    public const string KernelConfigInvalid = nameof(KernelConfigInvalid);

    public const string KernelConfigNotFound = nameof(KernelConfigNotFound);

    public const string KernelConfigRejected = nameof(KernelConfigRejected);

    public const string KernelModuleNotFound = nameof(KernelModuleNotFound);

    public const string KernelModulesNotFound = nameof(KernelModulesNotFound);

    public const string KernelNotFound = nameof(KernelNotFound);

    public const string KernelNotReadable = nameof(KernelNotReadable);

    public const string KernelSourceNotFound = nameof(KernelSourceNotFound);

    public const string KernelSourceUnsupported = nameof(KernelSourceUnsupported);

    public const string KvmUnavailable = nameof(KvmUnavailable);

    public const string LayerApplyFailed = nameof(LayerApplyFailed);

    public const string LayerArchiveInvalid = nameof(LayerArchiveInvalid);

    public const string LayerBlobNotFound = nameof(LayerBlobNotFound);

    public const string LayerEntryEscapesRoot = nameof(LayerEntryEscapesRoot);

    public const string LayerEntryParentNotDirectory = nameof(LayerEntryParentNotDirectory);

    public const string LayerHardLinkTargetInvalid = nameof(LayerHardLinkTargetInvalid);

    public const string LayerRootNotFound = nameof(LayerRootNotFound);

    public const string LayerSymlinkLoop = nameof(LayerSymlinkLoop);

    public const string LockFailed = nameof(LockFailed);

    public const string LogKeeperFailed = nameof(LogKeeperFailed);

    public const string LockTimeout = nameof(LockTimeout);

    public const string LvmToolsMissing = nameof(LvmToolsMissing);

    public const string MachineTypeNotSupported = nameof(MachineTypeNotSupported);

    public const string ManifestDigestMismatch = nameof(ManifestDigestMismatch);

    public const string ManifestInvalid = nameof(ManifestInvalid);

    public const string ManifestNotFound = nameof(ManifestNotFound);

    public const string MemoryOutOfRange = nameof(MemoryOutOfRange);

    public const string MetadataOptionsInvalid = nameof(MetadataOptionsInvalid);

    public const string ModuleDecompressorNotFound = nameof(ModuleDecompressorNotFound);

    public const string NetworkAdapterExists = nameof(NetworkAdapterExists);

    public const string NetworkAdapterNotFound = nameof(NetworkAdapterNotFound);

    public const string NetworkInUse = nameof(NetworkInUse);

    public const string NetworkNameInUse = nameof(NetworkNameInUse);

    public const string NetworkNamespaceNotFound = nameof(NetworkNamespaceNotFound);

    public const string NetworkNamespaceUnavailable = nameof(NetworkNamespaceUnavailable);

    public const string NetworkNotFound = nameof(NetworkNotFound);

    public const string OciLayoutInvalid = nameof(OciLayoutInvalid);

    public const string PlatformInvalid = nameof(PlatformInvalid);

    public const string PlatformNotFound = nameof(PlatformNotFound);

    public const string PortInUse = nameof(PortInUse);

    public const string PortMappingNotFound = nameof(PortMappingNotFound);

    public const string ProcessStartFailed = nameof(ProcessStartFailed);

    public const string QemuImgInvalidAnswer = nameof(QemuImgInvalidAnswer);

    public const string QmpCommandFailed = nameof(QmpCommandFailed);

    public const string QmpConnectionClosed = nameof(QmpConnectionClosed);

    public const string QmpConnectionFailed = nameof(QmpConnectionFailed);

    public const string QmpProtocolError = nameof(QmpProtocolError);

    public const string QuotaExceeded = nameof(QuotaExceeded);

    public const string RegistryProtocolError = nameof(RegistryProtocolError);

    public const string RegistryRequestFailed = nameof(RegistryRequestFailed);

    public const string RegistryResponseTooLarge = nameof(RegistryResponseTooLarge);

    public const string RegistryUnauthorized = nameof(RegistryUnauthorized);

    public const string RegistryUnreachable = nameof(RegistryUnreachable);

    public const string ReservedMountPath = nameof(ReservedMountPath);

    public const string RootfsBuildFailed = nameof(RootfsBuildFailed);

    public const string RootfsOutputExists = nameof(RootfsOutputExists);

    public const string RootfsSourceNotFound = nameof(RootfsSourceNotFound);

    public const string SavedStateInvalid = nameof(SavedStateInvalid);

    public const string SerialConsoleInUse = nameof(SerialConsoleInUse);

    public const string SerialConsoleUnavailable = nameof(SerialConsoleUnavailable);

    public const string ShareDaemonFailed = nameof(ShareDaemonFailed);

    public const string ShareHostPathNotDirectory = nameof(ShareHostPathNotDirectory);

    public const string ShareHostPathNotFound = nameof(ShareHostPathNotFound);

    public const string SocketPathTooLong = nameof(SocketPathTooLong);

    public const string SshdNotFound = nameof(SshdNotFound);

    public const string SshGatewayFailed = nameof(SshGatewayFailed);

    public const string SshGatewayNeedsRoot = nameof(SshGatewayNeedsRoot);

    public const string SshGatewayPortInUse = nameof(SshGatewayPortInUse);

    public const string SshGatewayProgramNotFound = nameof(SshGatewayProgramNotFound);

    public const string SshGatewayProgramUnsafe = nameof(SshGatewayProgramUnsafe);

    public const string SshKeyInUse = nameof(SshKeyInUse);

    public const string SshKeyNotFound = nameof(SshKeyNotFound);

    public const string StateDatabaseUnavailable = nameof(StateDatabaseUnavailable);

    public const string StateSchemaTooNew = nameof(StateSchemaTooNew);

    public const string StorageBackendNotSupported = nameof(StorageBackendNotSupported);

    public const string StorageSettingsInvalid = nameof(StorageSettingsInvalid);

    public const string SubnetConflict = nameof(SubnetConflict);

    public const string SubnetOverlapsHostRoute = nameof(SubnetOverlapsHostRoute);

    public const string TapCreationFailed = nameof(TapCreationFailed);

    public const string ThinPoolNotFound = nameof(ThinPoolNotFound);

    public const string ToolNotFound = nameof(ToolNotFound);

    public const string ToolNotInstalled = nameof(ToolNotInstalled);

    public const string UnsupportedLayerMediaType = nameof(UnsupportedLayerMediaType);

    public const string UplinkNotFound = nameof(UplinkNotFound);

    public const string UserDataInvalid = nameof(UserDataInvalid);

    public const string UserDataTooLarge = nameof(UserDataTooLarge);

    public const string UserEmailInUse = nameof(UserEmailInUse);

    public const string UserNameInUse = nameof(UserNameInUse);

    public const string UserNotFound = nameof(UserNotFound);

    public const string UserOwnsResources = nameof(UserOwnsResources);

    public const string VmAccessNotFound = nameof(VmAccessNotFound);

    public const string VmAccessToOwner = nameof(VmAccessToOwner);

    public const string VmAlreadyRunning = nameof(VmAlreadyRunning);

    public const string VmCommandStandardError = nameof(VmCommandStandardError);

    public const string VmDiskResizeNeedsStoppedVm = nameof(VmDiskResizeNeedsStoppedVm);

    public const string VmDiskShrinkNotSupported = nameof(VmDiskShrinkNotSupported);

    public const string VmExitedBeforeAgentReady = nameof(VmExitedBeforeAgentReady);

    public const string VmIsRunning = nameof(VmIsRunning);

    public const string VmNameInUse = nameof(VmNameInUse);

    public const string VmNotFound = nameof(VmNotFound);

    public const string VmNotOwned = nameof(VmNotOwned);

    public const string VmNotPaused = nameof(VmNotPaused);

    public const string VmNotRunning = nameof(VmNotRunning);

    public const string VmNotStopped = nameof(VmNotStopped);

    public const string VmPaused = nameof(VmPaused);

    public const string VmPsJobFailed = nameof(VmPsJobFailed);

    public const string VmResizeNeedsStop = nameof(VmResizeNeedsStop);

    public const string VmMemoryHotplugStep = nameof(VmMemoryHotplugStep);

    public const string VmMemoryAboveMaximum = nameof(VmMemoryAboveMaximum);

    public const string VmRestoreFailed = nameof(VmRestoreFailed);

    public const string VmSaved = nameof(VmSaved);

    public const string VmSaveFailed = nameof(VmSaveFailed);

    public const string VmSharesNotSavable = nameof(VmSharesNotSavable);

    public const string VmSpecInvalidValue = nameof(VmSpecInvalidValue);

    public const string VmSpecInvalidYaml = nameof(VmSpecInvalidYaml);

    public const string VmSpecTooLarge = nameof(VmSpecTooLarge);

    public const string VmSpecUnknownKey = nameof(VmSpecUnknownKey);

    public const string VmStartFailed = nameof(VmStartFailed);

    public const string VmStartInProgress = nameof(VmStartInProgress);

    public const string VolumeAlreadyAttached = nameof(VolumeAlreadyAttached);

    public const string VolumeAttached = nameof(VolumeAttached);

    public const string VolumeAttachedReadOnly = nameof(VolumeAttachedReadOnly);

    public const string VolumeAttachedWritable = nameof(VolumeAttachedWritable);

    public const string VolumeBusy = nameof(VolumeBusy);

    public const string VolumeFileMissing = nameof(VolumeFileMissing);

    public const string VolumeInUse = nameof(VolumeInUse);

    public const string VolumeMountPathInUse = nameof(VolumeMountPathInUse);

    public const string VolumeNameInUse = nameof(VolumeNameInUse);

    public const string VolumeNotAttached = nameof(VolumeNotAttached);

    public const string VolumeNotFound = nameof(VolumeNotFound);

    public const string VolumeRemoveFailed = nameof(VolumeRemoveFailed);

    public const string VolumeShrinkNotSupported = nameof(VolumeShrinkNotSupported);

    public const string VolumeSizeOutOfRange = nameof(VolumeSizeOutOfRange);

    public const string VolumeSourceInvalid = nameof(VolumeSourceInvalid);

    public const string VolumeSourceNeedsFilesystem = nameof(VolumeSourceNeedsFilesystem);

    public const string VolumeSourceNotFound = nameof(VolumeSourceNotFound);

    public const string VolumeTooSmall = nameof(VolumeTooSmall);
}
