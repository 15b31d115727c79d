using VmPs.Protocol.Messages;

namespace VmPs.Guest;

/// <summary>A request the guest cannot carry out; <see cref="Code"/> is one of <see cref="ErrorCodes"/> and goes to the host as is.</summary>
internal sealed class GuestException : Exception
{
    public GuestException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    public string Code { get; }
}
