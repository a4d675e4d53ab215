"""Vocabulary for the deterministic seed world (`services.sandbox.seed`)."""

# fmt: off
NAME_HEADS = (
    "Acme", "Summit", "Blue Ridge", "Harbor", "Pinnacle", "Redwood", "Cascade", "Evergreen",
    "Granite", "Lakeside", "Northstar", "Oakmont", "Riverbend", "Silverline", "Keystone",
    "Meridian", "Bayview", "Cedar", "Ironwood", "Maple Grove", "Prairie", "Sterling", "Tidewater",
    "Westfield", "Brightwater", "Copperfield", "Fairview", "Highland", "Juniper", "Liberty",
    "Magnolia", "Old Town", "Pioneer", "Quarry", "Rockport", "Sunrise", "Timberline", "Union",
    "Valley", "Willow", "Aspen", "Beacon", "Crescent", "Driftwood", "Eastgate", "Foxhill",
    "Golden Gate", "Hawthorne", "Indigo", "Jasper", "Kingsley", "Larkspur", "Midtown", "Newport",
    "Orchard", "Parkside", "Quincy", "Ridgeway", "Seaside", "Trinity", "Upland", "Vista",
    "St. Mary's", "O'Brien", "Smith", "Johnson", "Miller", "Baker", "Carter", "Foster",
)
NAME_TAILS = (
    "Dental", "Logistics", "Law Group", "Plumbing", "Medical Center", "Accounting", "Realty",
    "Construction", "Veterinary Clinic", "Architects", "Insurance", "Auto Repair", "Bakery",
    "Family Practice", "Engineering", "Marketing", "Consulting", "Hardware", "Pharmacy",
    "Manufacturing", "Landscaping", "Electric", "Roofing", "Title Company", "Credit Union",
    "Orthodontics", "Physical Therapy", "Animal Hospital", "Brewing", "Printing", "& Sons",
    "& Associates", "& Partners", "& Co Builders", "Heating & Air", "Tile & Stone",
)
LEGAL_SUFFIXES = (
    "Inc", "Inc.", "LLC", "Ltd", "Corp", "Co.", "LLP", "PC", "PLLC", "Corporation",
)
SUFFIX_VARIANTS = {
    "Inc": ("Inc.", "Incorporated", ""),
    "Inc.": ("Inc", ", Inc.", ""),
    "LLC": ("L.L.C.", ", LLC", ""),
    "Ltd": ("Ltd.", "Limited", ""),
    "Corp": ("Corp.", "Corporation", ""),
    "Co.": ("Co", "Company", ""),
    "LLP": ("L.L.P.", ", LLP", ""),
    "PC": ("P.C.", "", ", PC"),
    "PLLC": ("P.L.L.C.", "", ", PLLC"),
    "Corporation": ("Corp", "Corp.", ""),
}
NEAR_DUPLICATE_TAILS = (
    "Services", "Holdings", "Group", "Foundation", "Properties",
)
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Maria", "Wei", "Priya", "Ahmed", "Fatima", "Olga", "Hiroshi", "Aisha", "Liam",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Nguyen", "O'Connor",
)
STREETS = (
    "Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Washington Blvd",
    "Lake Rd", "Hill St", "Park Ave", "George Rd", "Sunset Blvd", "Commerce Pkwy", "Market St",
    "Industrial Way", "Broadway", "2nd Ave", "Church St", "Mill Rd", "Harbor Dr",
)
# (city, state or province, postal code prefix, country)
CITIES = (
    ("Tampa", "FL", "336", "US"), ("Austin", "TX", "787", "US"), ("Denver", "CO", "802", "US"),
    ("Portland", "OR", "972", "US"), ("Columbus", "OH", "432", "US"),
    ("Raleigh", "NC", "276", "US"), ("Phoenix", "AZ", "850", "US"), ("Boise", "ID", "837", "US"),
    ("Madison", "WI", "537", "US"), ("Nashville", "TN", "372", "US"),
    ("Albany", "NY", "122", "US"), ("Fresno", "CA", "937", "US"), ("Toronto", "ON", "M5V", "CA"),
    ("Calgary", "AB", "T2P", "CA"),
)
# (endpoint type, operating systems) per category
PLATFORM_KINDS = (
    ("Desktop", ("Windows 11 Pro", "Windows 10 Pro", "macOS 14 Sonoma")),
    ("Laptop", ("Windows 11 Pro", "Windows 11 Enterprise", "macOS 13 Ventura")),
    ("Server", ("Windows Server 2022 Standard", "Windows Server 2019 Standard", "Ubuntu 22.04")),
)
NETWORK_KINDS = (
    ("Firewall", ("FortiOS 7.2", "SonicOS 7.0", "pfSense 2.7")),
    ("Switch", ("Cisco IOS 15.2", "Aruba OS 16.11")),
    ("Router", ("Cisco IOS XE 17.9", "RouterOS 7.14")),
    ("Access Point", ("UniFi OS 3.2", "Meraki MR 30.6")),
)
CLOUD_KINDS = (
    ("Virtual Machine", ("Amazon Linux 2023", "Windows Server 2022 Datacenter", "Ubuntu 24.04")),
)
HOST_CODES = {
    "Desktop": "WS",
    "Laptop": "LT",
    "Server": "SRV",
    "Firewall": "FW",
    "Switch": "SW",
    "Router": "RT",
    "Access Point": "AP",
    "Virtual Machine": "VM",
}
MANUAL_TICKET_SUMMARIES = (
    "Printer offline in front office", "New user onboarding: {first} {last}",
    "Password reset for {first}", "Outlook keeps asking for password", "VPN drops every hour",
    "Request: new laptop for {first}", "Shared drive mapping missing", "Slow Wi-Fi in warehouse",
)
ALERT_CONDITIONS = (
    ("disk-space-low", "Low disk space on {host}"),
    ("cpu-high", "CPU above 95% for 15 minutes on {host}"),
    ("agent-offline", "Agent offline: {host}"),
    ("av-definitions-old", "Antivirus definitions out of date on {host}"),
    ("backup-failed", "Backup job failed on {host}"),
)
SEVERITIES = (
    "Critical", "High", "Medium", "Low", "Info",
)
# fmt: on
