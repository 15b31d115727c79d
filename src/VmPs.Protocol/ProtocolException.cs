namespace VmPs.Protocol;

/// <summary>The peer sent bytes that are not a valid frame or message of this protocol.</summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
