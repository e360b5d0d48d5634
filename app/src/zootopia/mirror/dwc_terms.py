"""Darwin Core terms (namespace http://rs.tdwg.org/dwc/terms/) an Occurrence core row may carry.

Written from the Darwin Core standard's term list, grouped by class. Dublin Core
record-level terms (type, modified, license, ...) live in another namespace and are
not here; neither are OBIS's own fields (aphiaID, sst, flags, ...).
"""

from __future__ import annotations

RECORD_LEVEL = (
    "institutionID collectionID datasetID institutionCode collectionCode datasetName ownerInstitutionCode"
    " basisOfRecord informationWithheld dataGeneralizations dynamicProperties"
)
OCCURRENCE = (
    "occurrenceID catalogNumber recordNumber recordedBy recordedByID individualCount organismQuantity"
    " organismQuantityType sex lifeStage reproductiveCondition caste behavior vitality establishmentMeans"
    " degreeOfEstablishment pathway georeferenceVerificationStatus occurrenceStatus associatedMedia"
    " associatedOccurrences associatedReferences associatedTaxa otherCatalogNumbers occurrenceRemarks"
)
ORGANISM = "organismID organismName organismScope associatedOrganisms previousIdentifications organismRemarks"
MATERIAL = (
    "materialEntityID materialSampleID preparations disposition verbatimLabel associatedSequences materialEntityRemarks"
)
EVENT = (
    "eventID parentEventID eventType fieldNumber eventDate eventTime startDayOfYear endDayOfYear year month day"
    " verbatimEventDate habitat samplingProtocol sampleSizeValue sampleSizeUnit samplingEffort fieldNotes"
    " eventRemarks"
)
LOCATION = (
    "locationID higherGeographyID higherGeography continent waterBody islandGroup island country countryCode"
    " stateProvince county municipality locality verbatimLocality minimumElevationInMeters"
    " maximumElevationInMeters verbatimElevation verticalDatum minimumDepthInMeters maximumDepthInMeters"
    " verbatimDepth minimumDistanceAboveSurfaceInMeters maximumDistanceAboveSurfaceInMeters"
    " locationAccordingTo locationRemarks decimalLatitude decimalLongitude geodeticDatum"
    " coordinateUncertaintyInMeters coordinatePrecision pointRadiusSpatialFit verbatimCoordinates"
    " verbatimLatitude verbatimLongitude verbatimCoordinateSystem verbatimSRS footprintWKT footprintSRS"
    " footprintSpatialFit georeferencedBy georeferencedByID georeferencedDate georeferenceProtocol"
    " georeferenceSources georeferenceRemarks"
)
GEOLOGICAL_CONTEXT = (
    "geologicalContextID earliestEonOrLowestEonothem latestEonOrHighestEonothem earliestEraOrLowestErathem"
    " latestEraOrHighestErathem earliestPeriodOrLowestSystem latestPeriodOrHighestSystem"
    " earliestEpochOrLowestSeries latestEpochOrHighestSeries earliestAgeOrLowestStage latestAgeOrHighestStage"
    " lowestBiostratigraphicZone highestBiostratigraphicZone lithostratigraphicTerms group formation member bed"
)
IDENTIFICATION = (
    "identificationID verbatimIdentification identificationQualifier typeStatus identifiedBy identifiedByID"
    " dateIdentified identificationReferences identificationVerificationStatus identificationRemarks"
)
TAXON = (
    "taxonID scientificNameID acceptedNameUsageID parentNameUsageID originalNameUsageID nameAccordingToID"
    " namePublishedInID taxonConceptID scientificName acceptedNameUsage parentNameUsage originalNameUsage"
    " nameAccordingTo namePublishedIn namePublishedInYear higherClassification kingdom phylum class order"
    " superfamily family subfamily tribe subtribe genus genericName subgenus infragenericEpithet"
    " specificEpithet infraspecificEpithet cultivarEpithet taxonRank verbatimTaxonRank"
    " scientificNameAuthorship vernacularName nomenclaturalCode taxonomicStatus nomenclaturalStatus"
    " taxonRemarks"
)

DWC_TERMS: frozenset[str] = frozenset(
    " ".join(
        (RECORD_LEVEL, OCCURRENCE, ORGANISM, MATERIAL, EVENT, LOCATION, GEOLOGICAL_CONTEXT, IDENTIFICATION, TAXON)
    ).split()
)
