namespace VmPs.Tests;

/// <summary>Valid OpenSSH public keys (no private half exists anywhere) for tests that pass keys through VmPs.</summary>
internal static class SampleSshKeys
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs55EeuyPSGqiGsDwMxZ3+VQ51sAAvNh50sies9uPlA vmps-test";
}
