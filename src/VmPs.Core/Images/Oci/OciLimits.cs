namespace VmPs.Core.Images.Oci;

/// <summary>
/// How large the JSON documents of an image may be: a registry, an OCI layout or a docker archive that claims more
/// is refused before the bytes are read. The same 4 MiB containerd and the distribution spec's registries use for
/// manifests, applied to indexes, image configs, docker manifest.json and token responses too.
/// </summary>
public static class OciLimits
{
    public const int MaxDocumentBytes = 4 << 20;
}
