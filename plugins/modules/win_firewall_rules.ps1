#!powershell

# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Thin on purpose: it reads (operation=query) or changes (operation=apply) the Windows Firewall
# rules of one group in a single run. What to change is decided on the controller by
# voiceops.firewall.windows_firewall; this module neither renders nor compares rules.

$ruleOptions = @{
    name = @{ type = 'str'; required = $true }
    display_name = @{ type = 'str'; required = $true }
    description = @{ type = 'str'; default = '' }
    direction = @{ type = 'str'; required = $true; choices = 'Inbound', 'Outbound' }
    action = @{ type = 'str'; required = $true; choices = @('Allow') }
    enabled = @{ type = 'bool'; default = $true }
    profiles = @{ type = 'list'; elements = 'str'; required = $true }
    protocol = @{ type = 'str'; required = $true }
    local_ports = @{ type = 'list'; elements = 'str'; default = @('Any') }
    remote_ports = @{ type = 'list'; elements = 'str'; default = @('Any') }
    local_addresses = @{ type = 'list'; elements = 'str'; default = @('Any') }
    remote_addresses = @{ type = 'list'; elements = 'str'; default = @('Any') }
    program = @{ type = 'str'; default = 'Any' }
    # Settings the collection never sets (but icmp_type). The controller sends one only in an update,
    # to set it back to Windows' default after someone changed it on the host; each choice is that
    # default, so they can only make a rule plainer. Left out (null), the rule's value is not touched.
    # icmp_type: the ICMP types of an ICMP rule narrowed by the catalog (echo request: 8, ICMPv6 128),
    # in New-NetFirewallRule's "type" or "type:code" form, or Any.
    interface_type = @{ type = 'str'; choices = @('Any') }
    service = @{ type = 'str'; choices = @('Any') }
    icmp_type = @{ type = 'list'; elements = 'str' }
    dynamic_target = @{ type = 'str'; choices = @('Any') }
    edge_traversal_policy = @{ type = 'str'; choices = @('Block') }
    loose_source_mapping = @{ type = 'bool' }
    local_only_mapping = @{ type = 'bool' }
    # In an update: recreate the rule (settings Set-NetFirewallRule cannot clear).
    recreate = @{ type = 'bool'; default = $false }
}

# Set-NetFirewallRule parameter = the rule option that sets it back (see above).
$settingOptions = [ordered]@{
    InterfaceType = 'interface_type'
    Service = 'service'
    IcmpType = 'icmp_type'
    DynamicTarget = 'dynamic_target'
    EdgeTraversalPolicy = 'edge_traversal_policy'
    LooseSourceMapping = 'loose_source_mapping'
    LocalOnlyMapping = 'local_only_mapping'
}

$spec = @{
    options = @{
        operation = @{ type = 'str'; required = $true; choices = 'query', 'apply', 'confirm' }
        group = @{ type = 'str'; required = $true }
        foreign = @{ type = 'bool'; default = $false }
        port = @{ type = 'int' }
        token = @{ type = 'str' }
        confirm_timeout = @{ type = 'int'; default = 0 }
        restore = @{ type = 'dict' }
        add = @{ type = 'list'; elements = 'dict'; default = @(); options = $ruleOptions }
        update = @{ type = 'list'; elements = 'dict'; default = @(); options = $ruleOptions }
        remove = @{ type = 'list'; elements = 'str'; default = @() }
        profiles = @{
            type = 'list'
            elements = 'dict'
            default = @()
            options = @{
                name = @{ type = 'str'; required = $true; choices = 'Domain', 'Private', 'Public' }
                enabled = @{ type = 'bool'; required = $true }
                default_inbound_action = @{ type = 'str'; required = $true; choices = 'Allow', 'Block' }
                default_outbound_action = @{ type = 'str'; required = $true; choices = 'Allow', 'Block' }
            }
        }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$group = $module.Params.group
$foreign = $module.Params.foreign
$module.Result.changed = $false

Function ConvertTo-StringList {
    # A property that may hold one value, several or none, as a list of strings.
    param($Value)
    , @($Value | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
}

Function ConvertTo-RuleReport {
    # One rule with its filters, enums as names, lists as lists. With -Settings (the group's own rules)
    # also what the collection never sets, which the controller compares with Windows' defaults.
    param($Rule, [hashtable]$Filters, [switch]$Settings, [switch]$Source)
    $id = $Rule.InstanceID
    $port = $Filters.Port[$id]
    $address = $Filters.Address[$id]
    $application = $Filters.Application[$id]
    $report = [ordered]@{
        Name = $Rule.Name
        DisplayName = $Rule.DisplayName
        Description = $Rule.Description
        Group = $Rule.Group
        Enabled = [string]$Rule.Enabled
        Direction = [string]$Rule.Direction
        Action = [string]$Rule.Action
        Profile = [string]$Rule.Profile
        Protocol = if ($port) { [string]$port.Protocol } else { 'Any' }
        LocalPort = if ($port) { ConvertTo-StringList $port.LocalPort } else { @('Any') }
        RemotePort = if ($port) { ConvertTo-StringList $port.RemotePort } else { @('Any') }
        LocalAddress = if ($address) { ConvertTo-StringList $address.LocalAddress } else { @('Any') }
        RemoteAddress = if ($address) { ConvertTo-StringList $address.RemoteAddress } else { @('Any') }
        Program = if ($application) { [string]$application.Program } else { 'Any' }
    }
    if ($Source) {
        # Rules of the active store: where each comes from (Get-NetFirewallRule -PolicyStoreSourceType: "None, Local,
        # GroupPolicy, Dynamic, Generated, Hardcoded"; -PolicyStoreSource is the GPO's name with -TracePolicyStore),
        # and the service filter (a block rule limited to one Windows service, as service hardening rules are).
        $report.PolicyStoreSource = [string]$Rule.PolicyStoreSource
        $report.PolicyStoreSourceType = [string]$Rule.PolicyStoreSourceType
        $service = $Filters.Service[$id]
        $report.Service = if ($service) { [string]$service.Service } else { 'Any' }
    }
    if ($Settings) {
        # A filter that is missing reports nothing (null): the controller takes Windows' default.
        $interfaceType = $Filters.InterfaceType[$id]
        $interface = $Filters.Interface[$id]
        $service = $Filters.Service[$id]
        $security = $Filters.Security[$id]
        $report.EdgeTraversalPolicy = [string]$Rule.EdgeTraversalPolicy
        $report.LooseSourceMapping = [bool]$Rule.LooseSourceMapping
        $report.LocalOnlyMapping = [bool]$Rule.LocalOnlyMapping
        $report.Owner = [string]$Rule.Owner
        $report.Platform = ConvertTo-StringList $Rule.Platform
        $report.IcmpType = if ($port) { ConvertTo-StringList $port.IcmpType } else { $null }
        # the port filter's property (Get-NetFirewallPortFilter help: "DynamicTransport"; -DynamicTarget is the parameter)
        $dynamic = if ($port -and $null -ne $port.DynamicTransport) { $port.DynamicTransport } elseif ($port) { $port.DynamicTarget } else { $null }
        $report.DynamicTarget = if ($null -ne $dynamic) { [string]$dynamic } else { $null }
        $report.Package = if ($application) { [string]$application.Package } else { $null }
        $report.InterfaceType = if ($interfaceType) { [string]$interfaceType.InterfaceType } else { $null }
        $report.InterfaceAlias = if ($interface) { ConvertTo-StringList $interface.InterfaceAlias } else { $null }
        $report.Service = if ($service) { [string]$service.Service } else { $null }
        $report.Authentication = if ($security) { [string]$security.Authentication } else { $null }
        $report.Encryption = if ($security) { [string]$security.Encryption } else { $null }
        $report.OverrideBlockRules = if ($security) { [bool]$security.OverrideBlockRules } else { $null }
        $report.LocalUser = if ($security) { [string]$security.LocalUser } else { $null }
        $report.RemoteUser = if ($security) { [string]$security.RemoteUser } else { $null }
        $report.RemoteMachine = if ($security) { [string]$security.RemoteMachine } else { $null }
    }
    $report
}

Function Get-FilterTable {
    # Every filter of one type in the store, by the InstanceID of its rule (one listing, not one per rule).
    param([scriptblock]$List)
    $table = @{}
    & $List | ForEach-Object { $table[$_.InstanceID] = $_ }
    $table
}

Function Get-RuleReport {
    # Rules and their filters from one policy store, each filter type read once and joined by
    # InstanceID. With -Settings also the interface type, interface, service and security filters;
    # with -Source (the active store) where each rule comes from and its service filter.
    param([string]$PolicyStore, [scriptblock]$Where, [switch]$Settings, [switch]$Source)
    $rules = if ($Source) {
        # -TracePolicyStore: "the name of the source GPO is queried and set to the PolicyStoreSource" (Get-NetFirewallRule help)
        @(Get-NetFirewallRule -PolicyStore $PolicyStore -TracePolicyStore -ErrorAction Stop | Where-Object $Where)
    }
    else {
        @(Get-NetFirewallRule -PolicyStore $PolicyStore -ErrorAction Stop | Where-Object $Where)
    }
    $filters = @{ Port = @{}; Address = @{}; Application = @{}; InterfaceType = @{}; Interface = @{}; Service = @{}; Security = @{} }
    if ($rules.Count -gt 0) {
        $filters.Port = Get-FilterTable { Get-NetFirewallPortFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
        $filters.Address = Get-FilterTable { Get-NetFirewallAddressFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
        $filters.Application = Get-FilterTable { Get-NetFirewallApplicationFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
        if ($Settings -or $Source) {
            $filters.Service = Get-FilterTable { Get-NetFirewallServiceFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
        }
        if ($Settings) {
            $filters.InterfaceType = Get-FilterTable { Get-NetFirewallInterfaceTypeFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
            $filters.Interface = Get-FilterTable { Get-NetFirewallInterfaceFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
            $filters.Security = Get-FilterTable { Get-NetFirewallSecurityFilter -All -PolicyStore $PolicyStore -ErrorAction Stop }
        }
    }
    , @($rules | Sort-Object -Property Name | ForEach-Object {
            ConvertTo-RuleReport -Rule $_ -Filters $filters -Settings:$Settings -Source:$Source
        })
}

Function Get-ProfilePolicy {
    # The three profiles of one policy store (one listing). Get-/Set-NetFirewallProfile help: Enabled,
    # AllowInboundRules and AllowLocalFirewallRules are GpoBoolean (False, True, NotConfigured), the default
    # actions Action (NotConfigured, Allow, Block); NotConfigured "valid only when configuring a GPO".
    # AllowLocalFirewallRules False: "The firewall rules defined by the local administrator are ignored".
    param([string]$PolicyStore)
    @(Get-NetFirewallProfile -PolicyStore $PolicyStore -ErrorAction Stop | Sort-Object -Property Name | ForEach-Object {
            [ordered]@{
                Name = [string]$_.Name
                Enabled = [string]$_.Enabled
                DefaultInboundAction = [string]$_.DefaultInboundAction
                DefaultOutboundAction = [string]$_.DefaultOutboundAction
                AllowInboundRules = [string]$_.AllowInboundRules
                AllowLocalFirewallRules = [string]$_.AllowLocalFirewallRules
            }
        })
}

Function Get-RuleSplat {
    # Parameters of New-NetFirewallRule (-New) or of Set-NetFirewallRule -InputObject for one rule argument.
    param($Rule, [switch]$New)
    $splat = @{
        Description = $Rule.description
        Direction = $Rule.direction
        Action = $Rule.action
        Enabled = if ($Rule.enabled) { 'True' } else { 'False' }
        Profile = ($Rule.profiles -join ', ')
        Protocol = $Rule.protocol
        LocalAddress = [string[]]$Rule.local_addresses
        RemoteAddress = [string[]]$Rule.remote_addresses
    }
    if ($New) {
        $splat.Name = $Rule.name
        $splat.DisplayName = $Rule.display_name
        $splat.Group = $group
        if ($null -ne $Rule.icmp_type) {
            $splat.IcmpType = [string[]]$Rule.icmp_type
        }
    }
    else {
        $splat.NewDisplayName = $Rule.display_name
        foreach ($parameter in $settingOptions.Keys) {
            $value = $Rule[$settingOptions[$parameter]]
            if ($null -ne $value) {
                $splat[$parameter] = $value
            }
        }
    }
    if ($Rule.protocol -in @('TCP', 'UDP')) {
        $splat.LocalPort = [string[]]$Rule.local_ports
        $splat.RemotePort = [string[]]$Rule.remote_ports
    }
    if ($Rule.program -ne 'Any' -or -not $New) {
        $splat.Program = $Rule.program
    }
    $splat
}

Function Get-OwnRule {
    # The one rule of the local store named exactly $Name, and only if it is in the group: never touch
    # another rule, whatever the controller asked for. -Name of the NetFirewallRule cmdlets takes
    # wildcards ("voiceops-*" would match other rules), so the name is escaped, anything but exactly
    # one match is refused, and the change is then made on this object (-InputObject), not by name.
    param([string]$Name)
    $pattern = [System.Management.Automation.WildcardPattern]::Escape($Name)
    $found = @(Get-NetFirewallRule -Name $pattern -PolicyStore PersistentStore -ErrorAction Stop)
    if ($found.Count -ne 1) {
        throw "rule '$Name': $($found.Count) rules of the local store match this name; refusing to change any"
    }
    $rule = $found[0]
    if ($rule.Name -ne $Name) {
        throw "rule '$Name': the store returned '$($rule.Name)'; refusing to change it"
    }
    if ($rule.Group -ne $group) {
        throw "rule '$Name' is in group '$($rule.Group)', not '$group'; refusing to change it"
    }
    $rule
}

# Commit-confirm: what an apply keeps for its restore, and the restore itself, which a scheduled task
# runs as SYSTEM when the apply is not confirmed in time. The controller decides what is kept (the
# group's rules and the profile settings the apply changes, in the module's own rule shape).
$stateDir = Join-Path $env:ProgramData 'voiceops.firewall'
$taskPath = '\voiceops.firewall\'
$restoreScript = @'
param([Parameter(Mandatory = $true)][ValidatePattern('^[0-9a-f]{32}$')][string]$Token)
$ErrorActionPreference = 'Stop'
$pending = Join-Path (Join-Path $env:ProgramData 'voiceops.firewall') "pending-$Token.json"
if (Test-Path -LiteralPath $pending) {
    $saved = Get-Content -LiteralPath $pending -Raw | ConvertFrom-Json
    # Only the collection's group: its rules as they were before the apply, nothing else. Rule by
    # rule (a saved rule replaces its namesake, then rules the saved set does not have go), and an
    # error is logged beside the pending file and the rest goes on: a partial restore is better than
    # none, and the management rule is never gone for longer than its own replacement.
    $ErrorActionPreference = 'Continue'
    $log = Join-Path (Join-Path $env:ProgramData 'voiceops.firewall') "restore-$Token.log"
    $names = @($saved.rules | ForEach-Object { [string]$_.name })
    $groupRules = @(Get-NetFirewallRule -PolicyStore PersistentStore | Where-Object { $_.Group -eq $saved.group })
    foreach ($rule in $saved.rules) {
        $splat = @{
            Name = $rule.name; DisplayName = $rule.display_name; Description = $rule.description; Group = $saved.group
            Direction = $rule.direction; Action = $rule.action; Enabled = $(if ($rule.enabled) { 'True' } else { 'False' })
            Profile = [string[]]$rule.profiles; Protocol = $rule.protocol
            LocalAddress = [string[]]$rule.local_addresses; RemoteAddress = [string[]]$rule.remote_addresses
        }
        if ($rule.protocol -in 'TCP', 'UDP') {
            $splat.LocalPort = [string[]]$rule.local_ports
            $splat.RemotePort = [string[]]$rule.remote_ports
        }
        if ($rule.program -ne 'Any') {
            $splat.Program = $rule.program
        }
        if ($null -ne $rule.icmp_type) {
            $splat.IcmpType = [string[]]$rule.icmp_type
        }
        try {
            foreach ($current in @($groupRules | Where-Object { $_.Name -eq $rule.name })) {
                Remove-NetFirewallRule -InputObject $current -ErrorAction Stop
            }
            $null = New-NetFirewallRule @splat -PolicyStore PersistentStore -ErrorAction Stop
        }
        catch {
            Add-Content -LiteralPath $log -Value "rule $($rule.name): $($_.Exception.Message)"
        }
    }
    foreach ($current in @($groupRules | Where-Object { $names -notcontains $_.Name })) {
        try {
            Remove-NetFirewallRule -InputObject $current -ErrorAction Stop
        }
        catch {
            Add-Content -LiteralPath $log -Value "remove $($current.Name): $($_.Exception.Message)"
        }
    }
    foreach ($saved_profile in $saved.profiles) {
        # enabled: true, false, or null for NotConfigured (which must stay NotConfigured, not become False)
        $enabled = if ($null -eq $saved_profile.enabled) { 'NotConfigured' } elseif ($saved_profile.enabled) { 'True' } else { 'False' }
        Set-NetFirewallProfile -Name $saved_profile.name -Enabled $enabled `
            -DefaultInboundAction $saved_profile.default_inbound_action -DefaultOutboundAction $saved_profile.default_outbound_action `
            -PolicyStore PersistentStore
    }
    Remove-Item -LiteralPath $pending
}
Unregister-ScheduledTask -TaskName "restore-$Token" -TaskPath '\voiceops.firewall\' -Confirm:$false -ErrorAction SilentlyContinue
'@

if ($module.Params.operation -eq 'confirm') {
    # Cancel the restore of an apply: the controller reached the host again over a fresh connection.
    $token = [string]$module.Params.token
    if ($token -notmatch '^[0-9a-f]{32}$') {
        $module.FailJson("win_firewall_rules: token: not a token of this module: '$token'")
    }
    $pending = Join-Path $stateDir "pending-$token.json"
    $task = Get-ScheduledTask -TaskName "restore-$token" -TaskPath $taskPath -ErrorAction SilentlyContinue
    if ($task) {
        Unregister-ScheduledTask -InputObject $task -Confirm:$false -ErrorAction Stop
    }
    if (-not (Test-Path -LiteralPath $pending)) {
        $module.Result.confirmed = $false
        $module.Result.msg = "no pending restore $token on the host: it ran already (the previous rules are back) or was confirmed"
        $module.ExitJson()
    }
    Remove-Item -LiteralPath $pending -ErrorAction Stop
    $module.Result.confirmed = $true
    $module.ExitJson()
}

if ($module.Params.operation -eq 'query') {
    if ($null -ne $module.Params.port) {
        # For the lockout guard: who is connected on the management port now (the controller is one of
        # them), and the profile of each connected network.
        $module.Result.connections = @(Get-NetTCPConnection -LocalPort $module.Params.port -State Established -ErrorAction SilentlyContinue |
                ForEach-Object { [string]$_.RemoteAddress } | Sort-Object -Unique)
        $module.Result.network_profiles = @(Get-NetConnectionProfile -ErrorAction SilentlyContinue | ForEach-Object {
                [ordered]@{ name = [string]$_.Name; interface = [string]$_.InterfaceAlias; category = [string]$_.NetworkCategory }
            })
    }
    # The Windows Defender Firewall service first (Get-Service: Status, StartType), so that the controller
    # learns why, should reading the stores fail with the service stopped.
    $firewallService = Get-Service -Name mpssvc -ErrorAction SilentlyContinue
    $running = $firewallService -and [string]$firewallService.Status -eq 'Running'
    $module.Result.firewall_service = if ($firewallService) {
        [ordered]@{ Name = [string]$firewallService.Name; Status = [string]$firewallService.Status; StartType = [string]$firewallService.StartType }
    }
    else { $null }
    try {
        $module.Result.rules = Get-RuleReport -PolicyStore PersistentStore -Where { $_.Group -eq $group } -Settings
        $module.Result.profiles = @(Get-NetFirewallProfile -PolicyStore PersistentStore -ErrorAction Stop | Sort-Object -Property Name | ForEach-Object {
                [ordered]@{
                    Name = [string]$_.Name
                    Enabled = [string]$_.Enabled
                    DefaultInboundAction = [string]$_.DefaultInboundAction
                    DefaultOutboundAction = [string]$_.DefaultOutboundAction
                }
            })
    }
    catch {
        if (-not $running) {
            $state = if ($firewallService) { "$($firewallService.Status), start type $($firewallService.StartType)" } else { 'not found' }
            $module.FailJson("win_firewall_rules: the Windows Defender Firewall service (mpssvc) is $state, and reading the local store failed: $($_.Exception.Message)", $_)
        }
        throw
    }
    # The effective policy (docs/windows.md, "Effective policy"); the controller decides what it means. Each
    # store is read once: the profiles of the RSOP store (what Group Policy sets) and of the ActiveStore (in
    # force now), and one listing of the active store's rules (-PolicyStore help: "ActiveStore: ... the sum of
    # all policy stores that apply to the computer"; "RSOP: ... the sum of all GPOs applied to the local
    # computer") for its enabled block rules (Group Policy or local) and, with foreign, the enabled allow rules
    # of other groups. What cannot be read is reported in policy_unread.
    $unread = [ordered]@{}
    try {
        $module.Result.gpo_profiles = @(Get-ProfilePolicy -PolicyStore RSOP)
    }
    catch {
        $unread.gpo_profiles = "Get-NetFirewallProfile -PolicyStore RSOP: $($_.Exception.Message)"
    }
    if ($running) {
        try {
            $module.Result.active_profiles = @(Get-ProfilePolicy -PolicyStore ActiveStore)
        }
        catch {
            $unread.active_profiles = "Get-NetFirewallProfile -PolicyStore ActiveStore: $($_.Exception.Message)"
        }
        try {
            $active = Get-RuleReport -PolicyStore ActiveStore -Source -Where {
                [string]$_.Enabled -eq 'True' -and ([string]$_.Action -eq 'Block' -or ($foreign -and [string]$_.Action -eq 'Allow' -and $_.Group -ne $group))
            }
            $module.Result.block_rules = @($active | Where-Object { $_.Action -eq 'Block' })
            if ($foreign) {
                $module.Result.foreign_rules = @($active | Where-Object { $_.Action -eq 'Allow' })
            }
        }
        catch {
            $unread.active_rules = "Get-NetFirewallRule -PolicyStore ActiveStore: $($_.Exception.Message)"
        }
    }
    else {
        $unread.active_store = 'the Windows Defender Firewall service (mpssvc) is not running, so the active store was not read'
    }
    $module.Result.policy_unread = $unread
    $module.ExitJson()
}

# operation=apply: adds and updates first, then removals, then profiles, so that the management
# rule is in place before anything is taken away or the default action tightens.
$done = [System.Collections.Generic.List[string]]@()
$module.Result.done = $done
$total = $module.Params.add.Count + $module.Params.update.Count + $module.Params.remove.Count + $module.Params.profiles.Count
if ($total -eq 0) {
    $module.ExitJson()
}
$module.Result.changed = $true
if ($module.CheckMode) {
    $module.ExitJson()
}

if ($module.Params.confirm_timeout -gt 0) {
    # Before the first change: keep what the controller sent for the restore, and schedule it.
    $token = [guid]::NewGuid().ToString('N')
    $null = New-Item -ItemType Directory -Path $stateDir -Force -ErrorAction Stop
    $restore = $module.Params.restore
    @{ group = $group; rules = @($restore.rules); profiles = @($restore.profiles) } | ConvertTo-Json -Depth 8 |
        Set-Content -LiteralPath (Join-Path $stateDir "pending-$token.json") -Encoding UTF8 -ErrorAction Stop
    $script = Join-Path $stateDir 'restore.ps1'
    Set-Content -LiteralPath $script -Value $restoreScript -Encoding UTF8 -ErrorAction Stop
    $at = (Get-Date).AddSeconds($module.Params.confirm_timeout)
    $taskAction = New-ScheduledTaskAction -Execute 'powershell.exe' `
        -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$script`" -Token $token"
    $taskTrigger = New-ScheduledTaskTrigger -Once -At $at
    $taskPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    # Run late rather than never (the host was off or busy at the time), and on battery too.
    $taskSettings = New-ScheduledTaskSettingsSet -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
    $null = Register-ScheduledTask -TaskName "restore-$token" -TaskPath $taskPath -Action $taskAction -Trigger $taskTrigger `
        -Principal $taskPrincipal -Settings $taskSettings -Force -ErrorAction Stop
    $module.Result.token = $token
    $module.Result.rollback_at = ([DateTimeOffset]$at).ToUnixTimeSeconds()
    $done.Add("schedule restore-$token")
}

$step = ''
try {
    foreach ($rule in $module.Params.add) {
        $step = "add $($rule.name)"
        $splat = Get-RuleSplat -Rule $rule -New
        $null = New-NetFirewallRule @splat -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
    foreach ($rule in $module.Params.update) {
        $step = "update $($rule.name)"
        $existing = Get-OwnRule -Name $rule.name
        if ($rule.recreate) {
            # A setting Set-NetFirewallRule cannot clear: rename the rule, create it afresh (every setting
            # at its default), then remove the renamed one, so its traffic always has a rule.
            $old = Rename-NetFirewallRule -InputObject $existing -NewName "$($rule.name)~$([guid]::NewGuid())" -PassThru -ErrorAction Stop
            $splat = Get-RuleSplat -Rule $rule -New
            $null = New-NetFirewallRule @splat -PolicyStore PersistentStore -ErrorAction Stop
            Remove-NetFirewallRule -InputObject $old -ErrorAction Stop
        }
        else {
            $splat = Get-RuleSplat -Rule $rule
            Set-NetFirewallRule -InputObject $existing @splat -ErrorAction Stop
        }
        $done.Add($step)
    }
    foreach ($name in $module.Params.remove) {
        $step = "remove $name"
        $existing = Get-OwnRule -Name $name
        Remove-NetFirewallRule -InputObject $existing -ErrorAction Stop
        $done.Add($step)
    }
    foreach ($profileArg in $module.Params.profiles) {
        $step = "profile $($profileArg.name)"
        $profileSplat = @{
            Name = $profileArg.name
            Enabled = if ($profileArg.enabled) { 'True' } else { 'False' }
            DefaultInboundAction = $profileArg.default_inbound_action
            DefaultOutboundAction = $profileArg.default_outbound_action
        }
        Set-NetFirewallProfile @profileSplat -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
}
catch {
    $module.Result.failed_step = $step
    $module.FailJson("win_firewall_rules: $step failed after $($done.Count) of $total change(s) succeeded: $($_.Exception.Message)", $_)
}
$module.ExitJson()
