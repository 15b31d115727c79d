namespace VmPs.Guest.Init;

/// <summary>A boot step failed; the message goes to the console as "[vmps] error: ..." before power off.</summary>
internal sealed class InitException : Exception
{
    public InitException(string message)
        : base(message)
    {
    }
}
